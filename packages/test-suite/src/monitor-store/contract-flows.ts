// The flow rules the monitor store cases derive with. The store does not know workflows: it
// must keep what `derive` returns, derived from every record committed for the flow. These
// rules are the smallest that show it: `start` starts a flow, `end` completes it, and its one
// deadline falls DEADLINE_MS after the start.
import type { AuditRecord, DeriveFlow, FlowSummary } from '@eda/workflow-monitor';

export const DEADLINE_MS = 1000;
export const WORKFLOW = 'contract';

/** A record of `type` in flow `correlationId` at time `at`. */
export function recordOf(
  id: string,
  correlationId: string,
  type: 'start' | 'step' | 'end',
  at: number,
): AuditRecord {
  return {
    id,
    action: type === 'end' ? 'handled' : 'published',
    service: 'contract-service',
    ...(type === 'end' ? { subscription: 'contract-sub', attempt: 1, durationMs: 3 } : {}),
    messageId: `${id}-message`,
    type,
    correlationId,
    ...(type === 'start' ? {} : { causationId: `${correlationId}-cause` }),
    at,
  };
}

/** Derives by the contract's rules; with `now`, notices the deadline once it passed. */
export function contractDerive(now?: number): DeriveFlow {
  return ({ correlationId, timeline, previous }): FlowSummary => {
    const lastAt = timeline.reduce((latest, r) => Math.max(latest, r.at), 0);
    const start = timeline.find((r) => r.type === 'start');
    const end = timeline.find((r) => r.type === 'end');
    const base = { correlationId, lastAt, records: timeline.length };
    if (!start) {
      return {
        ...base,
        workflow: undefined,
        state: 'unmatched',
        startedAt: undefined,
        endedAt: undefined,
        dueAt: undefined,
        passed: [],
      };
    }
    const dueAt = start.at + DEADLINE_MS;
    const passed = [...(previous?.passed ?? [])];
    if (!end && now !== undefined && dueAt <= now && !passed.length)
      passed.push({ key: 'workflow', dueAt, noticedAt: now, step: undefined, missing: ['end'] });
    return {
      ...base,
      workflow: WORKFLOW,
      state: end ? 'completed' : passed.length ? 'stuck' : 'running',
      startedAt: start.at,
      endedAt: end?.at,
      dueAt: end || passed.length ? undefined : dueAt,
      passed,
    };
  };
}
