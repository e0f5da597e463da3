// Publishes a claimed batch so that a record the broker refuses counts only against itself. A
// transport rejects a whole call without saying which message it refused, so a failed part is
// retried in halves down to single records: only a record refused on its own is to blame.

import type { OutboxRecord } from '../contracts/outbox-store.js';
import type { Transport } from '../contracts/transport.js';

/** What became of each record of a batch. */
export interface IsolationResult {
  /** Accepted by the broker. */
  readonly published: OutboxRecord[];
  /** Refused when sent on its own: these, and only these, count an attempt. */
  readonly refused: { readonly record: OutboxRecord; readonly error: unknown }[];
  /** Not sent because an earlier record of their aggregate was refused (order per aggregate). */
  readonly blocked: OutboxRecord[];
  /** Not tried: the broker refused everything so far, or the lease's time for isolating ran out. */
  readonly untried: OutboxRecord[];
}

/** Consecutive records of one kind: one transport call each (events publish, commands send). */
function runsOfOneKind(records: readonly OutboxRecord[]): OutboxRecord[][] {
  const runs: OutboxRecord[][] = [];
  for (const record of records) {
    const last = runs[runs.length - 1];
    if (last && last[0]!.message.attributes.kind === record.message.attributes.kind)
      last.push(record);
    else runs.push([record]);
  }
  return runs;
}

/**
 * Publishes `records` (in claim order) through `transport`, isolating refused records.
 *
 * - A failed call of several records is retried as two halves, recursively, so one bad record
 *   in a batch of n costs about 2*log2(n) extra calls and every other record is published.
 * - Once a record of an aggregate is refused, the later records of that aggregate are not sent
 *   (they would overtake it): they are `blocked`.
 * - A broker that refuses two records on their own before accepting anything is treated as
 *   down, not as refusing those records: the rest is left `untried` instead of being split
 *   further (which would cost 2n calls per cycle during an outage).
 * - Nothing more is sent after `deadline` (epoch ms), so that isolation ends well within the
 *   claim's lease and no other relay re-claims records this one is still sending.
 */
export async function publishIsolatingRefusals(
  records: readonly OutboxRecord[],
  transport: Transport,
  deadline: number,
): Promise<IsolationResult> {
  const result: IsolationResult = { published: [], refused: [], blocked: [], untried: [] };
  const blockedAggregates = new Set<string>();
  let stopped = false;

  const attempt = async (part: readonly OutboxRecord[]): Promise<void> => {
    const open: OutboxRecord[] = [];
    for (const record of part) {
      const aggregate = record.message.attributes.partitionkey;
      if (aggregate !== undefined && blockedAggregates.has(aggregate)) result.blocked.push(record);
      else if (stopped) result.untried.push(record);
      else open.push(record);
    }
    if (open.length === 0) return;
    if (Date.now() >= deadline) {
      result.untried.push(...open);
      return;
    }
    try {
      const messages = open.map((r) => r.message);
      await (open[0]!.message.attributes.kind === 'command'
        ? transport.send(messages)
        : transport.publish(messages));
      result.published.push(...open);
    } catch (error) {
      if (open.length > 1) {
        const middle = Math.ceil(open.length / 2);
        await attempt(open.slice(0, middle));
        await attempt(open.slice(middle));
        return;
      }
      const record = open[0]!;
      result.refused.push({ record, error });
      const aggregate = record.message.attributes.partitionkey;
      if (aggregate !== undefined) blockedAggregates.add(aggregate);
      if (result.published.length === 0 && result.refused.length >= 2) stopped = true;
    }
  };

  for (const run of runsOfOneKind(records)) await attempt(run);
  return result;
}
