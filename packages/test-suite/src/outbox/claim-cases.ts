// Outbox cases about writing and claiming: intact messages, rollbacks, late commits, order per
// aggregate, failed records, leases, dead records and purging.
import { jsonCodec } from '@eda/core';
import type { OutboxRecord } from '@eda/core/adapter';
import { expect } from 'vitest';
import { assertSameBytes, everyByteValue } from '../bytes.js';
import { waitFor } from '../wait-for.js';
import { claimUntil } from './claim-loop.js';
import type { OutboxCase, OutboxCaseContext } from './outbox-setup.js';

const LONG_LEASE = 30_000;

const numbers = (context: OutboxCaseContext, records: readonly OutboxRecord[]) =>
  records.map((r) => context.numberOf(r.message));

const hasAll =
  (context: OutboxCaseContext, wanted: readonly number[]) => (records: readonly OutboxRecord[]) => {
    const got = new Set(numbers(context, records));
    return wanted.every((n) => got.has(n));
  };

/** Added and committed messages come back intact, in write order. */
export const claimIntactCase: OutboxCase = {
  name: 'claim: committed messages are claimed intact, in write order, with no attempts',
  requires: [],
  async run(context) {
    const binary = {
      attributes: {
        ...context.message({ n: 2 }).attributes,
        datacontenttype: 'application/octet-stream',
      },
      body: everyByteValue(1024),
    };
    const written = [
      context.message({ n: 0, aggregate: 'order-1' }),
      context.message({ n: 1, aggregate: 'order-2', kind: 'command' }),
      binary,
    ];
    await context.write(written);
    const claimed = await context.store.claim({ limit: 10, leaseMs: LONG_LEASE });
    expect(
      claimed.map((r) => r.message.attributes.id),
      'claimed ids in write order',
    ).toEqual(written.map((m) => m.attributes.id));
    expect(new Set(claimed.map((r) => r.recordId)).size, 'distinct record ids').toBe(3);
    for (const [i, record] of claimed.entries()) {
      expect(record.attempts).toBe(0);
      expect(record.message.attributes, `attributes of message ${i}`).toEqual(
        written[i]!.attributes,
      );
      assertSameBytes(record.message.body, written[i]!.body, `body of message ${i}`);
    }
    await context.store.complete(claimed);
    expect(
      await context.store.claim({ limit: 10, leaseMs: LONG_LEASE }),
      'after completion',
    ).toEqual([]);
  },
};

/** A rolled-back transaction leaves nothing behind, and does not block later records. */
export const rollbackCase: OutboxCase = {
  name: 'rollback: a rolled-back transaction stores nothing and blocks nothing',
  requires: [],
  async run(context) {
    const rolledBack = await context.begin();
    await context.store.add(rolledBack.transaction, [
      context.message({ n: 0, aggregate: 'order-1' }),
    ]);
    await rolledBack.rollback();
    await context.write([context.message({ n: 1, aggregate: 'order-1' })]);
    const claimed = await claimUntil(context.store, hasAll(context, [1]), {
      idleMs: context.idleMs,
      description: 'the committed record after a rolled-back one',
    });
    // Sentinel: a record written after everything else; once it is claimed, nothing was left behind.
    await context.write([context.message({ n: 2, aggregate: 'order-1' })]);
    claimed.push(
      ...(await claimUntil(context.store, hasAll(context, [2]), {
        idleMs: context.idleMs,
        description: 'the sentinel',
      })),
    );
    expect(numbers(context, claimed), 'claimed records').toEqual([1, 2]);
  },
};

/** A transaction that commits after a later one is still claimed (no gap). */
export const lateCommitCase: OutboxCase = {
  name: 'late commit: a transaction that commits after a later one is not skipped',
  requires: [],
  async run(context) {
    const early = await context.begin();
    await context.store.add(early.transaction, [context.message({ n: 0, aggregate: 'order-1' })]);
    await context.write([context.message({ n: 1, aggregate: 'order-2' })]);
    const before = await context.store.claim({ limit: 10, leaseMs: LONG_LEASE });
    await context.store.complete(before);
    expect(numbers(context, before), "an open transaction's record is never claimed").not.toContain(
      0,
    );
    await early.commit();
    const after = await claimUntil(
      context.store,
      hasAll(
        context,
        [0, 1].filter((n) => !numbers(context, before).includes(n)),
      ),
      {
        idleMs: context.idleMs,
        description: 'the late-committed record',
      },
    );
    const all = [...numbers(context, before), ...numbers(context, after)].sort((a, b) => a - b);
    expect(all, 'every record claimed exactly once').toEqual([0, 1]);
  },
};

/** Per-aggregate write order holds although the transactions committed in the other order. */
export const outOfOrderCommitsCase: OutboxCase = {
  name: 'out-of-order commits: no record of an aggregate passes an earlier one whose transaction is still open',
  requires: ['orderedPerAggregate'],
  async run(context) {
    const early = await context.begin();
    await context.store.add(early.transaction, [context.message({ n: 0, aggregate: 'order-x' })]);
    await context.write([
      context.message({ n: 1, aggregate: 'order-x' }),
      context.message({ n: 2, aggregate: 'order-y' }),
    ]);
    const before = await context.store.claim({ limit: 10, leaseMs: LONG_LEASE });
    await context.store.complete(before);
    expect(numbers(context, before), 'claimed while the first transaction is open').not.toContain(
      1,
    );
    expect(numbers(context, before)).not.toContain(0);
    await early.commit();
    const after = await claimUntil(
      context.store,
      hasAll(
        context,
        [0, 1, 2].filter((n) => !numbers(context, before).includes(n)),
      ),
      { idleMs: context.idleMs, description: 'every record after the late commit' },
    );
    const claimed = [...before, ...after];
    const ofX = claimed.filter((r) => r.message.attributes.partitionkey === 'order-x');
    expect(numbers(context, ofX), 'order-x in write order').toEqual([0, 1]);
    expect(
      numbers(context, claimed).sort((a, b) => a - b),
      'every record once',
    ).toEqual([0, 1, 2]);
  },
};

/** A failed record holds back its own aggregate until its retry, and only its own. */
export const failedRecordCase: OutboxCase = {
  name: 'failed record: it holds back later records of its aggregate until retried; other aggregates proceed',
  requires: ['orderedPerAggregate'],
  async run(context) {
    await context.write([
      context.message({ n: 0, aggregate: 'order-x' }),
      context.message({ n: 1, aggregate: 'order-x' }),
      context.message({ n: 2, aggregate: 'order-y' }),
    ]);
    const first = await context.store.claim({ limit: 1, leaseMs: LONG_LEASE });
    expect(numbers(context, first), 'the oldest record first').toEqual([0]);
    await context.store.fail(first, {
      error: 'broker unavailable',
      maxAttempts: 5,
      retryAfterMs: 300,
    });
    const meanwhile = await context.store.claim({ limit: 10, leaseMs: LONG_LEASE });
    await context.store.complete(meanwhile);
    expect(numbers(context, meanwhile), 'claimable while order-x waits for its retry').toEqual([2]);
    const retried = await claimUntil(context.store, hasAll(context, [0, 1]), {
      idleMs: context.idleMs + 300,
      description: 'the failed record and the one behind it',
    });
    expect(numbers(context, retried), 'order-x after the backoff').toEqual([0, 1]);
    expect(retried[0]!.attempts, 'attempts of the retried record').toBe(1);
  },
};

/** A claimed record is leased: not claimed again until the lease expires, then it is. */
export const leaseCase: OutboxCase = {
  name: 'lease: a claimed record is not claimed again until its lease expires (a crashed relay), then it is',
  requires: [],
  async run(context) {
    const leaseMs = 400;
    await context.write([context.message({ n: 0 })]);
    const claimedAt = Date.now();
    const first = await context.store.claim({ limit: 10, leaseMs });
    expect(numbers(context, first)).toEqual([0]);
    expect(
      await context.store.claim({ limit: 10, leaseMs }),
      'claimed again during the lease',
    ).toEqual([]);
    let again: OutboxRecord[] = [];
    await waitFor(
      async () => {
        again = await context.store.claim({ limit: 10, leaseMs });
        return again.length > 0;
      },
      { idleMs: leaseMs + context.idleMs, intervalMs: 20, description: 'the lease to expire' },
    );
    const elapsed = Date.now() - claimedAt;
    expect(numbers(context, again)).toEqual([0]);
    // 100 ms of slack for clocks: the database may time leases with its own clock.
    expect(elapsed, 'time until the record was claimable again').toBeGreaterThanOrEqual(
      leaseMs - 100,
    );
    expect(again[0]!.message.attributes).toEqual(first[0]!.message.attributes);
  },
};

/** Failed attempts are counted; at maxAttempts the record is dead and never claimed again. */
export const deadRecordCase: OutboxCase = {
  name: 'dead record: fail() counts attempts, and at maxAttempts the record is never claimed again',
  requires: [],
  async run(context) {
    const failure = { error: 'broker unavailable', maxAttempts: 2, retryAfterMs: 0 };
    await context.write([context.message({ n: 0, aggregate: 'order-1' })]);
    const first = await context.store.claim({ limit: 10, leaseMs: LONG_LEASE });
    expect(first.map((r) => r.attempts)).toEqual([0]);
    await context.store.fail(first, failure);
    const second = await claimUntil(context.store, (r) => r.length > 0, {
      idleMs: context.idleMs,
      complete: false,
      description: 'the record after one failed attempt',
    });
    expect(numbers(context, second)).toEqual([0]);
    expect(second[0]!.attempts, 'attempts after one failure').toBe(1);
    await context.store.fail(second, failure);
    // Sentinel: a later record of another aggregate. Once it is claimed the store has looked past the dead one.
    await context.write([context.message({ n: 1, aggregate: 'order-2' })]);
    const later = await claimUntil(context.store, hasAll(context, [1]), {
      idleMs: context.idleMs,
      description: 'a record written after the dead one',
    });
    expect(numbers(context, later), 'claimed after the record died').toEqual([1]);
    expect(await context.store.claim({ limit: 10, leaseMs: LONG_LEASE })).toEqual([]);
  },
};

/** Published records are purged in batches of at most `limit`; pending ones never. */
export const purgeCase: OutboxCase = {
  name: 'purge: old published records are removed in bounded batches; pending and recent ones are kept',
  requires: [],
  async run(context) {
    await context.write([0, 1, 2, 3, 4].map((n) => context.message({ n })));
    await claimUntil(context.store, hasAll(context, [0, 1, 2, 3, 4]), {
      idleMs: context.idleMs,
      description: 'the records to publish',
    });
    await context.write([context.message({ n: 5 })]);
    expect(
      await context.store.purge({ olderThanMs: 3_600_000, limit: 100 }),
      'records published less than an hour ago',
    ).toBe(0);
    const batches: number[] = [];
    for (let i = 0; i < 4; i++)
      batches.push(await context.store.purge({ olderThanMs: 0, limit: 2 }));
    expect(batches, 'purged per call with limit 2').toEqual([2, 2, 1, 0]);
    const pending = await context.store.claim({ limit: 10, leaseMs: LONG_LEASE });
    expect(numbers(context, pending), 'the pending record survives purges').toEqual([5]);
  },
};

/** `waitForChange` wakes a waiting relay when a transaction commits, and ends on abort. */
export const notificationsCase: OutboxCase = {
  name: 'notifications: waitForChange resolves when a transaction commits, and when its signal aborts',
  requires: ['notifications'],
  async run(context) {
    const { store } = context;
    if (!store.waitForChange)
      throw new Error('The store claims notifications but has no waitForChange().');
    const controller = new AbortController();
    context.defer(() => controller.abort());
    let woke = false;
    const waiting = store.waitForChange(controller.signal).then(() => {
      woke = true;
    });
    await context.write([context.message({ n: 0 })]);
    await waitFor(() => woke, {
      idleMs: context.idleMs,
      description: 'waitForChange to wake after a commit',
    });
    await waiting;
    const idle = new AbortController();
    let ended = false;
    const aborted = store.waitForChange(idle.signal).then(() => {
      ended = true;
    });
    idle.abort();
    await waitFor(() => ended, {
      idleMs: context.idleMs,
      description: 'waitForChange to end on abort',
    });
    await aborted;
    expect(
      jsonCodec.decode((await store.claim({ limit: 1, leaseMs: LONG_LEASE }))[0]!.message.body),
    ).toMatchObject({ n: 0 });
  },
};
