// The in-memory outbox store on its own, with the clock held still: transactions, the
// commit-order fence, leases, retry backoff, dead records, purge and change notifications.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  createInMemoryOutboxStore,
  type OutgoingMessage,
} from '../src/index.js';

const T0 = Date.UTC(2026, 0, 1);

function message(id: string, partitionkey?: string): OutgoingMessage {
  return {
    attributes: {
      id,
      type: 'tick',
      source: 'clock',
      specversion: '1.0',
      kind: 'event',
      ...(partitionkey === undefined ? {} : { partitionkey }),
    },
    body: new Uint8Array(),
  };
}

const ids = (records: readonly { message: OutgoingMessage }[]) =>
  records.map((r) => r.message.attributes.id);

/** A store holding committed records, in this write order. */
async function storeWith(...messages: OutgoingMessage[]) {
  const store = createInMemoryOutboxStore();
  await store.transaction((tx) => store.add(tx, messages));
  return store;
}

const failure = { error: 'Error: broker said no', maxAttempts: 3, retryAfterMs: 500 };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('in-memory outbox store: transactions', () => {
  it('states what it can do', () => {
    expect(createInMemoryOutboxStore().capabilities).toEqual({
      concurrentRelays: true,
      orderedPerAggregate: true,
      notifications: true,
      persistent: false,
    });
  });

  it('keeps rows of a committed transaction, in write order, pending and unattempted', async () => {
    const store = createInMemoryOutboxStore();
    const tx = store.begin();
    await store.add(tx, [message('a'), message('b')]);
    tx.commit();
    expect(
      store.rows().map((r) => ({
        id: r.message.attributes.id,
        seq: r.seq,
        transactionId: r.transactionId,
        committed: r.committed,
        status: r.status,
        attempts: r.attempts,
        publishedAt: r.publishedAt,
        lastError: r.lastError,
      })),
    ).toEqual([
      {
        id: 'a',
        seq: 1,
        transactionId: tx.id,
        committed: true,
        status: 'pending',
        attempts: 0,
        publishedAt: undefined,
        lastError: undefined,
      },
      {
        id: 'b',
        seq: 2,
        transactionId: tx.id,
        committed: true,
        status: 'pending',
        attempts: 0,
        publishedAt: undefined,
        lastError: undefined,
      },
    ]);
  });

  it('drops the rows of a rolled-back transaction and keeps those of others', async () => {
    const store = createInMemoryOutboxStore();
    const kept = store.begin();
    const dropped = store.begin();
    await store.add(kept, [message('kept')]);
    await store.add(dropped, [message('dropped')]);
    dropped.rollback();
    kept.commit();
    expect(ids(store.rows())).toEqual(['kept']);
    expect(ids(await store.claim({ limit: 10, leaseMs: 1000 }))).toEqual(['kept']);
  });

  it('refuses to finish a transaction twice', () => {
    const store = createInMemoryOutboxStore();
    const tx = store.begin();
    tx.commit();
    expect(() => tx.commit()).toThrow(ConfigurationError);
    expect(() => tx.rollback()).toThrow(`Transaction ${tx.id} is already finished.`);
  });

  it('refuses add() outside an open transaction of this store', async () => {
    const store = createInMemoryOutboxStore();
    const finished = store.begin();
    finished.commit();
    const foreign = createInMemoryOutboxStore().begin();
    for (const tx of [undefined, finished, { ...foreign, id: 99 }]) {
      await expect(store.add(tx as never, [message('x')])).rejects.toThrow(
        'Outbox add() needs an open transaction of this store: use store.begin() or store.transaction(fn).',
      );
    }
    expect(store.rows()).toEqual([]);
  });

  it('transaction(fn) commits when fn resolves and rolls back, rethrowing, when it throws', async () => {
    const store = createInMemoryOutboxStore();
    const result = await store.transaction(async (tx) => {
      await store.add(tx, [message('ok')]);
      return 42;
    });
    expect(result).toBe(42);
    const boom = new Error('business rule failed');
    await expect(
      store.transaction(async (tx) => {
        await store.add(tx, [message('no')]);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(ids(store.rows())).toEqual(['ok']);
    expect(store.rows()[0]?.committed).toBe(true);
  });
});

describe('in-memory outbox store: claims', () => {
  it('claims the oldest records up to the limit, with their ids and attempts', async () => {
    const store = await storeWith(message('a'), message('b'), message('c'));
    const claimed = await store.claim({ limit: 2, leaseMs: 1000 });
    expect(claimed).toEqual([
      { recordId: '1', message: message('a'), attempts: 0, claimId: expect.any(String) },
      { recordId: '2', message: message('b'), attempts: 0, claimId: expect.any(String) },
    ]);
    expect(ids(await store.claim({ limit: 2, leaseMs: 1000 }))).toEqual(['c']);
  });

  it('passes no row of a transaction still open (the fence), then claims it once committed', async () => {
    const store = createInMemoryOutboxStore();
    const early = store.begin();
    const late = store.begin();
    await store.add(early, [message('early', 'A')]);
    await store.add(late, [message('late', 'B')]);
    late.commit();
    // 'late' committed, but it was written after 'early', whose transaction is open.
    expect(await store.claim({ limit: 10, leaseMs: 1000 })).toEqual([]);
    early.commit();
    expect(ids(await store.claim({ limit: 10, leaseMs: 1000 }))).toEqual(['early', 'late']);
  });

  it('does not claim a leased record again until its lease has run out', async () => {
    const store = await storeWith(message('a'));
    expect(ids(await store.claim({ limit: 10, leaseMs: 1000 }))).toEqual(['a']);
    vi.setSystemTime(T0 + 999);
    expect(await store.claim({ limit: 10, leaseMs: 1000 })).toEqual([]);
    vi.setSystemTime(T0 + 1000);
    expect(ids(await store.claim({ limit: 10, leaseMs: 1000 }))).toEqual(['a']);
  });

  it('holds back later records of an aggregate behind a leased one; other aggregates and unkeyed records pass', async () => {
    const store = await storeWith(message('a1', 'A'));
    await store.claim({ limit: 1, leaseMs: 1000 });
    await store.transaction((tx) =>
      store.add(tx, [message('a2', 'A'), message('b1', 'B'), message('free')]),
    );
    expect(ids(await store.claim({ limit: 10, leaseMs: 1000 }))).toEqual(['b1', 'free']);
  });

  it('never claims published or dead records', async () => {
    const store = await storeWith(message('done'), message('dead'), message('next'));
    const [done, dead] = await store.claim({ limit: 2, leaseMs: 1000 });
    await store.complete([done!]);
    await store.fail([dead!], { ...failure, maxAttempts: 1 });
    expect(ids(await store.claim({ limit: 10, leaseMs: 1000 }))).toEqual(['next']);
  });
});

describe('in-memory outbox store: complete and fail', () => {
  it('marks completed records published at the current time', async () => {
    const store = await storeWith(message('a'), message('b'));
    const [a] = await store.claim({ limit: 1, leaseMs: 1000 });
    vi.setSystemTime(T0 + 5);
    await store.complete([a!]);
    expect(store.rows().map((r) => [r.status, r.publishedAt])).toEqual([
      ['published', T0 + 5],
      ['pending', undefined],
    ]);
  });

  it('counts a failed attempt, keeps the error and makes the record claimable after the backoff', async () => {
    const store = await storeWith(message('a', 'A'), message('a2', 'A'), message('b', 'B'));
    const [a] = await store.claim({ limit: 1, leaseMs: 60_000 });
    await store.fail([a!], failure);
    expect(store.rows()[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'Error: broker said no',
      availableAt: T0 + 500,
    });
    // The lease is given up at once, but the backoff holds the record and its aggregate back.
    expect(ids(await store.claim({ limit: 10, leaseMs: 1000 }))).toEqual(['b']);
    vi.setSystemTime(T0 + 499);
    expect(await store.claim({ limit: 10, leaseMs: 1000 })).toEqual([]);
    vi.setSystemTime(T0 + 500);
    expect(await store.claim({ limit: 10, leaseMs: 1000 })).toEqual([
      { recordId: '1', message: message('a', 'A'), attempts: 1, claimId: expect.any(String) },
      { recordId: '2', message: message('a2', 'A'), attempts: 0, claimId: expect.any(String) },
    ]);
  });

  it('dead-letters a record when its attempts reach maxAttempts, and only then', async () => {
    const store = await storeWith(message('a'));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [record] = await store.claim({ limit: 1, leaseMs: 1000 });
      expect(record?.attempts).toBe(attempt - 1);
      await store.fail([record!], failure);
      expect(store.rows()[0]?.status).toBe(attempt < 3 ? 'pending' : 'dead');
      vi.setSystemTime(Date.now() + 500);
    }
    expect(store.rows()[0]).toMatchObject({ attempts: 3, lastError: 'Error: broker said no' });
    expect(await store.claim({ limit: 1, leaseMs: 1000 })).toEqual([]);
  });
});

describe('in-memory outbox store: purge', () => {
  it('deletes published records at least olderThanMs old, at most limit, oldest first', async () => {
    const store = await storeWith(message('a'), message('b'), message('c'), message('pending'));
    const records = await store.claim({ limit: 3, leaseMs: 1000 });
    await store.complete(records);
    vi.setSystemTime(T0 + 999);
    expect(await store.purge({ olderThanMs: 1000, limit: 10 })).toBe(0);
    vi.setSystemTime(T0 + 1000);
    expect(await store.purge({ olderThanMs: 1000, limit: 2 })).toBe(2);
    expect(ids(store.rows())).toEqual(['c', 'pending']);
    expect(await store.purge({ olderThanMs: 1000, limit: 2 })).toBe(1);
    expect(ids(store.rows())).toEqual(['pending']);
  });
});

describe('in-memory outbox store: change notifications', () => {
  const settled = async (promise: Promise<void>) => {
    let done = false;
    void promise.then(() => {
      done = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    return done;
  };

  it('wakes a waiting relay when a transaction commits or rolls back, not on add()', async () => {
    const store = createInMemoryOutboxStore();
    const tx = store.begin();
    const waiting = store.waitForChange!(new AbortController().signal);
    await store.add(tx, [message('a')]);
    expect(await settled(waiting)).toBe(false);
    tx.commit();
    expect(await settled(waiting)).toBe(true);
    const second = store.waitForChange!(new AbortController().signal);
    store.begin().rollback();
    expect(await settled(second)).toBe(true);
  });

  it('resolves when the signal aborts, or at once when it already has', async () => {
    const store = createInMemoryOutboxStore();
    const controller = new AbortController();
    const waiting = store.waitForChange!(controller.signal);
    expect(await settled(waiting)).toBe(false);
    controller.abort();
    expect(await settled(waiting)).toBe(true);
    expect(await settled(store.waitForChange!(AbortSignal.abort()))).toBe(true);
  });
});
