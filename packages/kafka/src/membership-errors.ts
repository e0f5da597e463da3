// Errors that mean this member's view of the group is over (a rebalance started, the
// generation moved on, or the coordinator forgot the member). Work of the current batch must
// stop, and its results must not be committed under a newer generation.

const LOST_MEMBERSHIP = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
  'FENCED_INSTANCE_ID',
]);

/** True when a kafkajs error says the member must rejoin its group. */
export function isMembershipLost(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' && LOST_MEMBERSHIP.has(type);
}
