// Outbox cases about whose writes come first and whose settlements count: per-aggregate order is
// write order (not the order in which writer transactions began), and a settlement from a claim
// that was taken over changes nothing.
import { EdaError } from '@eda/core';
import type { OutboxRecord } from '@eda/core/adapter';
import { expect } from 'vitest';
import { waitFor } from '../wait-for.js';
import { claimUntil } from './claim-loop.js';
import type { OutboxCase, OutboxCaseContext } from './outbox-setup.js';

const numbers = (context: OutboxCaseContext, records: readonly OutboxRecord[]) =>
  records.map((r) => context.numberOf(r.message));

/**
 * Two writers of one aggregate that conflict (the second writes after seeing the first's
 * commit), where the second began first: T1 writes something else first (as an inbox row
 * does), T2 writes E2 and commits, then T1 writes E1, having seen E2's state, and commits. E2
 * was written first, so it must be claimed first, whatever order the transactions began in.
 */
export const conflictingWritersCase: OutboxCase = {
  name: 'conflicting writers: per-aggregate order is write order, not the order the writer transactions began in',
  requires: ['orderedPerAggregate'],
  async run(context) {
    const t1 = await context.begin();
    // T1's first write (another aggregate): on PostgreSQL this is when T1 takes its txid.
    await context.store.add(t1.transaction, [context.message({ n: 0, aggregate: 'order-z' })]);
    const t2 = await context.begin();
    await context.store.add(t2.transaction, [context.message({ n: 1, aggregate: 'order-x' })]);
    await t2.commit();
    await context.store.add(t1.transaction, [context.message({ n: 2, aggregate: 'order-x' })]);
    await t1.commit();
    const claimed = await claimUntil(
      context.store,
      (records) => new Set(numbers(context, records)).size >= 3,
      { idleMs: context.idleMs, description: 'the three records of both writers' },
    );
    const ofX = claimed.filter((r) => r.message.attributes.partitionkey === 'order-x');
    expect(
      numbers(context, ofX),
      'order-x in write order (E2, committed first, then E1, written after seeing it)',
    ).toEqual([1, 2]);
    expect(
      numbers(context, claimed).sort((a, b) => a - b),
      'every record once',
    ).toEqual([0, 1, 2]);
  },
};

/** Claims until something is claimed; returns it without completing it. */
const claimSome = (context: OutboxCaseContext, leaseMs: number, description: string) =>
  claimUntil(context.store, (records) => records.length > 0, {
    idleMs: leaseMs + context.idleMs,
    leaseMs,
    complete: false,
    description,
  });

/**
 * A relay stalls longer than its lease (a GC pause, a frozen VM), another takes its records
 * over, then the first settles late: its completion and its failure must be refused
 * (`EDA_UNAVAILABLE`) and must change neither the new holder's lease nor the records' status.
 */
export const staleSettlementCase: OutboxCase = {
  name: 'stale settlement: complete() or fail() from a claim that was taken over is refused and changes nothing',
  requires: ['orderedPerAggregate'],
  async run(context) {
    const leaseMs = 300;
    await context.write([
      context.message({ n: 0, aggregate: 'order-x' }),
      context.message({ n: 1, aggregate: 'order-x' }),
    ]);
    const stale = await claimSome(context, leaseMs, 'the first claim');
    expect(numbers(context, stale), 'the stalled relay claims both').toEqual([0, 1]);
    let taken: OutboxRecord[] = [];
    await waitFor(
      async () => {
        taken = await context.store.claim({ limit: 1, leaseMs: 30_000 });
        return taken.length > 0;
      },
      { idleMs: leaseMs + context.idleMs, intervalMs: 20, description: 'the lease to expire' },
    );
    expect(numbers(context, taken), 'the new holder takes the oldest record').toEqual([0]);
    for (const settle of [
      () => context.store.complete(stale),
      () => context.store.fail(stale, { error: 'late failure', maxAttempts: 1, retryAfterMs: 0 }),
    ]) {
      const refused = await settle().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(
        EdaError.isInstance(refused) ? refused.code : refused,
        'a late settlement of a taken-over claim',
      ).toBe('EDA_UNAVAILABLE');
    }
    // The new holder still holds order-x: the record behind its record is not claimable.
    expect(
      numbers(context, await context.store.claim({ limit: 10, leaseMs: 30_000 })),
      'claimable while the new holder holds order-x',
    ).toEqual([]);
    // Its settlement counts, and the late fail (maxAttempts 1) marked nothing dead: both records
    // are published in order.
    await context.store.complete(taken);
    const rest = await claimUntil(context.store, (records) => records.length > 0, {
      idleMs: context.idleMs,
      description: 'the record behind the new holder',
    });
    expect(numbers(context, rest), 'the second record, neither dead nor lost').toEqual([1]);
  },
};

/**
 * A record written earlier whose transaction is younger than a transaction still running holds
 * back the later-written records of its aggregate, even when those come from an older
 * transaction that the commit fence already admits. T0 writes first (taking the oldest
 * transaction), Tm writes and stays open (the fence stops at it), T1 writes X1 and commits, then
 * T0 writes X2 (after X1, having seen it) and commits: X2 must not go before X1.
 */
export const earlierWriteAboveFenceCase: OutboxCase = {
  name: 'earlier write above the fence: a later-written record of an older transaction does not pass it',
  requires: ['orderedPerAggregate'],
  async run(context) {
    const t0 = await context.begin();
    await context.store.add(t0.transaction, [context.message({ n: 0, aggregate: 'order-z' })]);
    const tm = await context.begin();
    await context.store.add(tm.transaction, [context.message({ n: 1, aggregate: 'order-m' })]);
    await context.write([context.message({ n: 2, aggregate: 'order-x' })]);
    await context.store.add(t0.transaction, [context.message({ n: 3, aggregate: 'order-x' })]);
    await t0.commit();
    const before = await context.store.claim({ limit: 10, leaseMs: 30_000 });
    await context.store.complete(before);
    const ofXBefore = numbers(
      context,
      before.filter((r) => r.message.attributes.partitionkey === 'order-x'),
    );
    expect(
      ofXBefore.includes(3) && !ofXBefore.includes(2),
      `X2 claimed before X1 while a transaction older than X1's is open (claimed ${JSON.stringify(numbers(context, before))})`,
    ).toBe(false);
    await tm.commit();
    const after = await claimUntil(
      context.store,
      (records) => new Set([...numbers(context, before), ...numbers(context, records)]).size >= 4,
      { idleMs: context.idleMs, description: 'every record once the last transaction ended' },
    );
    const ofX = [...before, ...after].filter(
      (r) => r.message.attributes.partitionkey === 'order-x',
    );
    expect(numbers(context, ofX), 'order-x in write order').toEqual([2, 3]);
  },
};
