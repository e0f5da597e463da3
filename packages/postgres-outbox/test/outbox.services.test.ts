// The outbox store and core's relay against real PostgreSQL: transactional writes, the commit
// order fence, per-aggregate order, dead-lettering, notifications, retention and graceful stop.

import { readFileSync } from 'node:fs';
import {
  ConfigurationError,
  createBus,
  createOutboxRelay,
  DecodeError,
  defineEvent,
  EncodeError,
  type OutgoingMessage,
  UnavailableError,
} from '@eda/core';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  createPostgresOutboxStore,
  ensureOutboxSchema,
  OutboxFenceHeldError,
  outboxSchemaSql,
  withTransaction,
} from '../src/index.js';
import { dataOf, OrderPlaced, recordingTransport, until, useTestScope } from './helpers.js';

const scope = useTestScope();

async function setup(
  options: { completion?: 'mark' | 'delete'; claimMode?: 'lease' | 'lock' } = {},
) {
  const db = await scope.open();
  const pool = db.pool();
  const store = createPostgresOutboxStore({ pool, schema: db.schema.name, ...options });
  scope.track(store);
  const transport = recordingTransport();
  const bus = createBus({ service: 'orders', transport, outbox: store });
  return { db, pool, store, transport, bus };
}

const orderIds = (messages: readonly OutgoingMessage[]) => messages.map((m) => dataOf(m).orderId);

/** The batch leases a lease-mode relay holds: seqs and aggregates per lease row, by lease id. */
async function leaseRows(pool: { query(sql: string): Promise<{ rows: unknown[] }> }) {
  const { rows } = await pool.query(
    `select seqs::text[] as seqs, aggregates, lease_until > clock_timestamp() as active
     from eda_outbox_leases order by id`,
  );
  return rows as { seqs: string[]; aggregates: (string | null)[]; active: boolean }[];
}

/**
 * Another lease-mode relay claims a record of aggregate `z` written first, and keeps its batch
 * leased: while a lease is active, claims take the exact selection instead of the fast path.
 */
async function leaseOtherBatch(pool: pg.Pool, bus: ReturnType<typeof createBus>) {
  await withTransaction(pool, (client) =>
    bus.publish(OrderPlaced, { orderId: 'z-0', n: -1 }, { transaction: client, partitionKey: 'z' }),
  );
  const other = scope.track(createPostgresOutboxStore({ pool, schema: scope.db.schema.name }));
  const held = await other.claim({ limit: 10, leaseMs: 120_000 });
  expect(orderIds(held.map((r) => r.message))).toEqual(['z-0']);
}

/** Publishes `[orderId, aggregate]` pairs (n: 0) in one transaction, in the order given. */
async function publishKeyedOrders(
  pool: pg.Pool,
  bus: ReturnType<typeof createBus>,
  orders: readonly (readonly [string, string])[],
) {
  await withTransaction(pool, async (client) => {
    for (const [orderId, key] of orders)
      await bus.publish(OrderPlaced, { orderId, n: 0 }, { transaction: client, partitionKey: key });
  });
}

/** Publishes orders o-1..o-count of aggregate `o` in one transaction. */
async function publishOrdersOfOneAggregate(
  pool: pg.Pool,
  bus: ReturnType<typeof createBus>,
  count: number,
) {
  await withTransaction(pool, async (client) => {
    for (let n = 1; n <= count; n++)
      await bus.publish(
        OrderPlaced,
        { orderId: `o-${n}`, n },
        { transaction: client, partitionKey: 'o' },
      );
  });
}

async function expectOtherBatchStillLeased(pool: pg.Pool) {
  // The oldest lease row: the other relay's, never released or replaced.
  expect((await leaseRows(pool))[0], 'the other batch was leased all along').toEqual({
    seqs: ['1'],
    aggregates: ['z'],
    active: true,
  });
}

describe('writer', () => {
  it('stores a message only when the transaction commits, and the relay publishes it with its attributes', async () => {
    const { pool, store, transport, bus } = await setup();
    await withTransaction(pool, async (client) => {
      await client.query('create table orders (id text primary key)');
      await client.query(`insert into orders values ('kept')`);
      await bus.publish(
        OrderPlaced,
        { orderId: 'kept', n: 1 },
        { transaction: client, partitionKey: 'kept' },
      );
    });
    await expect(
      withTransaction(pool, async (client) => {
        await client.query(`insert into orders values ('rolled-back')`);
        await bus.publish(OrderPlaced, { orderId: 'rolled-back', n: 2 }, { transaction: client });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');

    const relay = createOutboxRelay({ store, transport });
    expect(await relay.drain()).toBe(1);
    expect(orderIds(transport.published)).toEqual(['kept']);
    const attributes = transport.published[0]!.attributes;
    expect(attributes).toMatchObject({
      type: 'order.placed',
      source: 'orders',
      kind: 'event',
      partitionkey: 'kept',
    });
    expect(attributes.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(await store.counts()).toEqual({ pending: 0, published: 1, dead: 0 });
  });

  it('keeps the Debezium outbox router columns filled', async () => {
    const { pool, store, db } = await setup();
    await withTransaction(pool, (client) =>
      createBus({ service: 'orders', transport: recordingTransport(), outbox: store }).publish(
        OrderPlaced,
        { orderId: 'o-9', n: 9 },
        { transaction: client, partitionKey: 'o-9', id: 'evt-1' },
      ),
    );
    const { rows } = await pool.query(
      `select id, aggregatetype, aggregateid, type, convert_from(payload, 'utf8') as payload from "${db.schema.name}".eda_outbox`,
    );
    expect(rows).toEqual([
      {
        id: 'evt-1',
        aggregatetype: 'order.placed',
        aggregateid: 'o-9',
        type: 'order.placed',
        payload: '{"orderId":"o-9","n":9}',
      },
    ]);
  });

  it('refuses a pool, a client outside BEGIN and a failed transaction, writing nothing', async () => {
    const { pool, store, bus } = await setup();
    await expect(
      bus.publish(OrderPlaced, { orderId: 'x', n: 1 }, { transaction: pool }),
    ).rejects.toThrow(/given a pool/);
    const client = await pool.connect();
    try {
      await expect(
        bus.publish(OrderPlaced, { orderId: 'x', n: 1 }, { transaction: client }),
      ).rejects.toThrow(/not inside a transaction/);
      await client.query('begin');
      await client.query('select 1/0').catch(() => undefined);
      await expect(
        bus.publish(OrderPlaced, { orderId: 'x', n: 1 }, { transaction: client }),
      ).rejects.toThrow(ConfigurationError);
      await client.query('rollback');
    } finally {
      client.release();
    }
    expect(await store.counts()).toEqual({ pending: 0, published: 0, dead: 0 });
  });

  it('rejects a payload that cannot be encoded with a clear error and leaves the transaction usable', async () => {
    const { pool, store, bus } = await setup();
    await withTransaction(pool, async (client) => {
      await expect(
        bus.publish(
          OrderPlaced,
          { orderId: 'big', n: 10n as unknown as number },
          { transaction: client },
        ),
      ).rejects.toThrow(EncodeError);
      await expect(
        store.add(client, [
          {
            attributes: { id: 'a', type: 't', source: 's', specversion: '1.0', kind: 'event' },
            body: 'text' as unknown as Uint8Array,
          },
        ]),
      ).rejects.toThrow(/must be a Uint8Array/);
      await expect(
        store.add(client, [
          {
            attributes: {
              id: 'a\u0000b',
              type: 't',
              source: 's',
              specversion: '1.0',
              kind: 'event',
            },
            body: new Uint8Array(),
          },
        ]),
      ).rejects.toThrow(/NUL character/);
      await expect(
        store.add(client, [
          {
            attributes: { id: '', type: 't', source: 's', specversion: '1.0', kind: 'event' },
            body: new Uint8Array(),
          },
        ]),
      ).rejects.toThrow(EncodeError);
      await bus.publish(OrderPlaced, { orderId: 'fine', n: 1 }, { transaction: client });
    });
    expect(await store.counts()).toMatchObject({ pending: 1 });
  });
});

describe('configuration', () => {
  it('rejects identifiers that are not plain names, naming the option', async () => {
    const { pool } = await setup();
    expect(() => createPostgresOutboxStore({ pool, table: 'outbox; drop table users' })).toThrow(
      /postgres-outbox: table "outbox; drop table users" is not a valid identifier/,
    );
    expect(() => createPostgresOutboxStore({ pool, schema: 'a"b' })).toThrow(ConfigurationError);
    expect(() => createPostgresOutboxStore({ pool, channel: 'x y' })).toThrow(/channel/);
    expect(() => createPostgresOutboxStore({ pool, table: 'x'.repeat(49) })).toThrow(/1 to 48/);
    expect(() => outboxSchemaSql({ schema: "public'; --" })).toThrow(ConfigurationError);
    await expect(ensureOutboxSchema(pool, { table: '1table' })).rejects.toThrow(ConfigurationError);
    expect(() => createPostgresOutboxStore({ pool, completion: 'drop' as 'mark' })).toThrow(
      /completion/,
    );
  });

  it('creates the schema idempotently, also from concurrent callers', async () => {
    const { pool, db } = await setup();
    const options = { schema: `${db.schema.name}_extra`, table: 'events_outbox' };
    await Promise.all([1, 2, 3, 4].map(() => ensureOutboxSchema(pool, options)));
    await ensureOutboxSchema(pool, options);
    const { rows } = await pool.query(
      `select count(*)::int as n from "${options.schema}".events_outbox`,
    );
    expect(rows[0]).toEqual({ n: 0 });
    await pool.query(`drop schema "${options.schema}" cascade`);
  });
});

describe('schema objects of this version', () => {
  it.each(['lease', 'lock'] as const)(
    'are created by ensureOutboxSchema; when missing, claims fail with an error asking for it and resume once it ran (claimMode %s)',
    async (claimMode) => {
      const { pool, store, bus } = await setup({ claimMode, completion: 'delete' });
      const found = await pool.query(
        `select to_regprocedure('eda_outbox_claim_lease(integer,bigint)') is not null as lease,
              to_regprocedure('eda_outbox_claim_lock(integer,bigint)') is not null as lock,
              to_regprocedure('eda_outbox_release(bigint,bigint[])') is not null as release,
              to_regprocedure('eda_outbox_hold(bigint,bigint[])') is not null as hold,
              to_regclass('eda_outbox_leases') is not null as leases`,
      );
      expect(found.rows[0]).toEqual({
        lease: true,
        lock: true,
        release: true,
        hold: true,
        leases: true,
      });
      const publish = (n: number) =>
        withTransaction(pool, (client) =>
          bus.publish(OrderPlaced, { orderId: `o-${n}`, n }, { transaction: client }),
        );
      await publish(1);
      const first = await store.claim({ limit: 10, leaseMs: 30_000 });
      expect(orderIds(first.map((r) => r.message))).toEqual(['o-1']);
      await store.complete(first);
      // A schema from an earlier version: claim functions, but no lease table.
      await pool.query(`drop table eda_outbox_leases;
drop function eda_outbox_release(bigint, bigint[]), eda_outbox_hold(bigint, bigint[])`);
      await publish(2);
      // The first claim after the change meets it in the database; the store checks again.
      await expect(store.claim({ limit: 10, leaseMs: 30_000 })).rejects.toMatchObject({
        code: '42P01',
      });
      const refused = store.claim({ limit: 10, leaseMs: 30_000 });
      await expect(refused).rejects.toThrow(ConfigurationError);
      await expect(refused).rejects.toThrow(/run ensureOutboxSchema/);
      expect(await store.counts(), 'nothing claimed or changed').toEqual({
        pending: 1,
        published: 0,
        dead: 0,
      });
      await ensureOutboxSchema(pool, { schema: scope.db.schema.name });
      const again = await store.claim({ limit: 10, leaseMs: 30_000 });
      expect(orderIds(again.map((r) => r.message))).toEqual(['o-2']);
      await store.complete(again);
      expect(await store.counts()).toEqual({ pending: 0, published: 0, dead: 0 });
    },
  );

  it('refuses to claim on a schema without the claim function, naming what to run', async () => {
    const { pool, store, bus } = await setup();
    await pool.query(`drop function eda_outbox_claim_lease(integer, bigint)`);
    await withTransaction(pool, (client) =>
      bus.publish(OrderPlaced, { orderId: 'o-1', n: 1 }, { transaction: client }),
    );
    await expect(store.claim({ limit: 10, leaseMs: 30_000 })).rejects.toThrow(
      /eda_outbox_leases" or its claim functions .*run ensureOutboxSchema, or apply outboxSchemaSql\(\)/,
    );
    expect(await leaseRows(pool)).toEqual([]);
  });
});

describe('upgrade from 0.1.0', () => {
  it('relays, in order, from a table and functions created by 0.1.0 once ensureOutboxSchema ran; the table keeps its settings', async () => {
    const { pool, store, transport, bus, db } = await setup();
    // Replace this version's objects with 0.1.0's.
    await pool.query(`drop table eda_outbox_leases;
drop table eda_outbox;
drop function eda_outbox_claim_lease(integer, bigint), eda_outbox_claim_lock(integer, bigint),
  eda_outbox_release(bigint, bigint[]), eda_outbox_hold(bigint, bigint[])`);
    const oldDdl = readFileSync(
      new URL('./fixtures/outbox-schema-0.1.0.sql', import.meta.url),
      'utf8',
    );
    await pool.query(oldDdl.replaceAll('old_schema_placeholder', db.schema.name));
    await withTransaction(pool, async (client) => {
      for (const [n, key] of [
        [1, 'a'],
        [2, 'b'],
        [3, 'a'],
        [4, 'a'],
      ] as const)
        await bus.publish(
          OrderPlaced,
          { orderId: `${key}-${n}`, n },
          { transaction: client, partitionKey: key },
        );
    });
    await expect(store.claim({ limit: 10, leaseMs: 30_000 })).rejects.toThrow(
      /run ensureOutboxSchema/,
    );

    await ensureOutboxSchema(pool, { schema: db.schema.name });
    expect(await createOutboxRelay({ store, transport, purge: false }).drain()).toBe(4);
    expect(orderIds(transport.published)).toEqual(['a-1', 'b-2', 'a-3', 'a-4']);
    expect(await store.counts()).toEqual({ pending: 0, published: 4, dead: 0 });
    expect(await leaseRows(pool)).toEqual([]);
    const table = await pool.query(
      `select c.reloptions, exists (select 1 from information_schema.columns
         where table_schema = $1 and table_name = 'eda_outbox' and column_name = 'lease_until') as has_lease_until
       from pg_class c where c.oid = 'eda_outbox'::regclass`,
      [db.schema.name],
    );
    expect(table.rows[0]).toEqual({ reloptions: ['fillfactor=50'], has_lease_until: true });
  });
});

describe('relay ordering', () => {
  it('does not let a later transaction pass one that began earlier and commits later (no gap), and publishes each aggregate in write order', async () => {
    const { pool, store, transport, bus } = await setup();
    const first = await pool.connect();
    const second = await pool.connect();
    try {
      await first.query('begin');
      await bus.publish(
        OrderPlaced,
        { orderId: 'x-1', n: 1 },
        { transaction: first, partitionKey: 'x' },
      );
      await second.query('begin');
      await bus.publish(
        OrderPlaced,
        { orderId: 'x-2', n: 2 },
        { transaction: second, partitionKey: 'x' },
      );
      await bus.publish(
        OrderPlaced,
        { orderId: 'y-1', n: 3 },
        { transaction: second, partitionKey: 'y' },
      );
      await second.query('commit');

      const relay = createOutboxRelay({ store, transport, batchSize: 10 });
      // The second transaction committed, but the first is open and may still commit rows that
      // come before it: nothing may be published yet.
      expect(await relay.drain()).toBe(0);
      await bus.publish(
        OrderPlaced,
        { orderId: 'x-0', n: 0 },
        { transaction: first, partitionKey: 'x' },
      );
      await first.query('commit');
      expect(await relay.drain()).toBe(4);
      // Write order: x-0 was written last, after x-2 was committed (a writer that wrote x-0
      // having seen x-2 must come after it), although its transaction began first.
      expect(orderIds(transport.published)).toEqual(['x-1', 'x-2', 'y-1', 'x-0']);
    } finally {
      first.release();
      second.release();
    }
  });

  it('publishes two writers of one order in the order they wrote it, although the later writer took its transaction id first', async () => {
    const { pool, store, transport, bus } = await setup();
    await pool.query(`create table orders (id text primary key, version integer not null);
insert into orders values ('x', 0)`);
    const bump = async (client: pg.PoolClient) => {
      const { rows } = await client.query(
        `update orders set version = version + 1 where id = 'x' returning version`,
      );
      const version = rows[0].version as number;
      await bus.publish(
        OrderPlaced,
        { orderId: `x-v${version}`, n: version },
        { transaction: client, partitionKey: 'x' },
      );
    };
    const t1 = await pool.connect();
    const t2 = await pool.connect();
    try {
      await t1.query('begin');
      // What a consumer's inbox row does before its handler runs: T1 takes its id first.
      await t1.query('select pg_current_xact_id()');
      await t2.query('begin');
      await bump(t2);
      await t2.query('commit');
      // T1 locks the order after T2 committed, so it writes version 2 on top of version 1.
      await bump(t1);
      await t1.query('commit');
    } finally {
      t1.release();
      t2.release();
    }
    expect(await createOutboxRelay({ store, transport, purge: false }).drain()).toBe(2);
    expect(
      transport.published.map((m) => dataOf(m).n),
      'entity versions as published (a downstream version check drops any that goes backwards)',
    ).toEqual([1, 2]);
  });

  it.each([
    ['no other batch leased', false],
    ['another relay holding a batch, so every claim takes the exact selection', true],
  ])(
    'holds back later records of an aggregate while an earlier one waits for a retry, and lets other aggregates pass (%s)',
    async (_, otherBatch) => {
      const { pool, store, transport, bus } = await setup();
      if (otherBatch) await leaseOtherBatch(pool, bus);
      await publishKeyedOrders(pool, bus, [
        ['a-1', 'a'],
        ['b-1', 'b'],
        ['a-2', 'a'],
        ['b-2', 'b'],
      ]);
      let failures = 0;
      transport.failWhen = (messages) => {
        if (messages.some((m) => dataOf(m).orderId === 'a-1') && failures < 1) {
          failures += 1;
          return true;
        }
        return false;
      };
      const claimed = await store.claim({ limit: 1, leaseMs: 30_000 });
      expect(orderIds(claimed.map((r) => r.message))).toEqual(['a-1']);
      await store.fail(claimed, { error: 'broker down', maxAttempts: 5, retryAfterMs: 60_000 });
      // a-1 waits for its retry: a-2 must not pass it, b-1 and b-2 may go.
      const next = await store.claim({ limit: 10, leaseMs: 30_000 });
      expect(orderIds(next.map((r) => r.message))).toEqual(['b-1', 'b-2']);
      await store.complete(next);
      // A leased record blocks its aggregate as well.
      await pool.query(`update eda_outbox set available_at = now() where status = 'pending'`);
      const retried = await store.claim({ limit: 1, leaseMs: 30_000 });
      expect(orderIds(retried.map((r) => r.message))).toEqual(['a-1']);
      expect(retried[0]!.attempts).toBe(1);
      expect(await store.claim({ limit: 10, leaseMs: 30_000 })).toEqual([]);
      await store.complete(retried);
      const last = await store.claim({ limit: 10, leaseMs: 30_000 });
      expect(orderIds(last.map((r) => r.message))).toEqual(['a-2']);
      if (otherBatch) await expectOtherBatchStillLeased(pool);
    },
  );

  it.each([
    ['lease', false],
    ['lock', false],
    ['lease', true],
    ['lock', true],
  ] as const)(
    'keeps per-aggregate order across many batches around a record waiting for a retry (claimMode %s, another batch leased %s)',
    async (claimMode, otherBatch) => {
      const { pool, store, bus } = await setup({ claimMode });
      if (otherBatch) await leaseOtherBatch(pool, bus);
      const keys = ['a', 'b', 'c'];
      await withTransaction(pool, async (client) => {
        for (let n = 0; n < 30; n++)
          await bus.publish(
            OrderPlaced,
            { orderId: `${keys[n % 3]}-${n}`, n },
            { transaction: client, partitionKey: keys[n % 3]! },
          );
      });
      const first = await store.claim({ limit: 4, leaseMs: 30_000 });
      expect(orderIds(first.map((r) => r.message))).toEqual(['a-0', 'b-1', 'c-2', 'a-3']);
      // b-1 waits for a retry; the rest of the first batch is done.
      const waiting = first.filter((r) => dataOf(r.message).orderId === 'b-1');
      await store.complete(first.filter((r) => dataOf(r.message).orderId !== 'b-1'));
      await store.fail(waiting, { error: 'broker down', maxAttempts: 5, retryAfterMs: 60_000 });
      const claimed: string[] = [];
      for (;;) {
        const batch = await store.claim({ limit: 3, leaseMs: 30_000 });
        if (batch.length === 0) break;
        claimed.push(...orderIds(batch.map((r) => r.message)));
        await store.complete(batch);
      }
      const expected = Array.from({ length: 30 }, (_, n) => `${keys[n % 3]}-${n}`)
        .slice(4)
        .filter((id) => !id.startsWith('b-'));
      expect(claimed).toEqual(expected);
      // Once b-1 is due again it goes first, then the rest of b in order.
      await pool.query(`update eda_outbox set available_at = now() where status = 'pending'`);
      const rest: string[] = [];
      for (;;) {
        const batch = await store.claim({ limit: 4, leaseMs: 30_000 });
        if (batch.length === 0) break;
        rest.push(...orderIds(batch.map((r) => r.message)));
        await store.complete(batch);
      }
      expect(rest).toEqual(Array.from({ length: 10 }, (_, i) => `b-${3 * i + 1}`));
      if (otherBatch) await expectOtherBatchStillLeased(pool);
    },
  );

  it('re-claims a batch whose lease expired (a relay that died mid-batch)', async () => {
    const { pool, store, bus } = await setup();
    await withTransaction(pool, (client) =>
      bus.publish(OrderPlaced, { orderId: 'o', n: 1 }, { transaction: client, partitionKey: 'o' }),
    );
    const first = await store.claim({ limit: 10, leaseMs: 200 });
    expect(first).toHaveLength(1);
    expect(await store.claim({ limit: 10, leaseMs: 200 })).toEqual([]);
    await until(
      async () => (await store.claim({ limit: 10, leaseMs: 30_000 })).length === 1,
      'the lease to expire',
    );
  });
});

describe('relay failures', () => {
  it('counts attempts, backs off, and moves a record to the dead state after maxAttempts while others flow', async () => {
    const { pool, store, transport, bus } = await setup();
    await withTransaction(pool, async (client) => {
      await bus.publish(
        OrderPlaced,
        { orderId: 'poison', n: 0 },
        { transaction: client, partitionKey: 'p' },
      );
      await bus.publish(
        OrderPlaced,
        { orderId: 'healthy', n: 1 },
        { transaction: client, partitionKey: 'h' },
      );
    });
    transport.failWhen = (messages) => messages.some((m) => dataOf(m).orderId === 'poison');
    const errors: unknown[] = [];
    // The default batch size: P's refusals must not count against the healthy record.
    const relay = createOutboxRelay({
      store,
      transport,
      maxAttempts: 3,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
      pollIntervalMs: 50,
      onError: (error) => errors.push(error),
    });
    relay.start();
    await until(
      async () => (await store.counts()).dead === 1,
      'the poison record to be dead-lettered',
    );
    await until(() => orderIds(transport.published).includes('healthy'), 'the healthy record');
    await relay.stop();
    const { rows } = await pool.query(
      `select status, attempts, last_error from eda_outbox where headers->>'id' is not null order by seq`,
    );
    expect(rows[0]).toEqual({
      status: 'dead',
      attempts: 3,
      last_error: 'Error: broker refused the batch',
    });
    expect(rows[1]).toMatchObject({ status: 'published', attempts: 0 });
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(orderIds(transport.published)).toEqual(['healthy']);
  });

  it.each(['lease', 'lock'] as const)(
    'claim mode %s: a refused record counts one attempt, its aggregate waits behind it without counting, other aggregates flow',
    async (claimMode) => {
      const { pool, store, transport, bus } = await setup({ claimMode });
      await publishKeyedOrders(pool, bus, [
        ['a-1', 'a'],
        ['b-1', 'b'],
        ['a-2', 'a'],
        ['b-2', 'b'],
      ]);
      let refuse = true;
      transport.failWhen = (messages) =>
        refuse && messages.some((m) => dataOf(m).orderId === 'a-1');
      const relay = createOutboxRelay({ store, transport, purge: false });
      expect(await relay.drain()).toBe(2);
      expect(orderIds(transport.published)).toEqual(['b-1', 'b-2']);
      const attempts = async () => {
        const { rows } = await pool.query(
          `select headers->>'id' as id, payload, status, attempts from eda_outbox order by seq`,
        );
        return rows.map(
          (r) =>
            `${dataOf({ body: r.payload } as OutgoingMessage).orderId}:${r.status}:${r.attempts}`,
        );
      };
      expect(await attempts()).toEqual([
        'a-1:pending:1',
        'b-1:published:0',
        'a-2:pending:0',
        'b-2:published:0',
      ]);
      refuse = false;
      await until(async () => (await relay.drain()) === 2, 'a-1 and a-2 after the backoff');
      expect(orderIds(transport.published)).toEqual(['b-1', 'b-2', 'a-1', 'a-2']);
      expect(await attempts()).toContain('a-2:published:0');
    },
  );

  it('dead-letters a row that cannot be decoded, with its reason, and keeps relaying', async () => {
    const { pool, transport, bus, db } = await setup();
    await withTransaction(pool, async (client) => {
      await bus.publish(OrderPlaced, { orderId: 'before', n: 1 }, { transaction: client });
      // A row written by some other tool, without the envelope attributes.
      await client.query(
        `insert into eda_outbox (id, aggregatetype, type, payload, headers) values ('raw-1', 'order.placed', 'order.placed', '\\x00', '{"type":"order.placed"}')`,
      );
      await client.query(
        `insert into eda_outbox (id, aggregatetype, type, payload, headers) values ('raw-2', 'order.placed', 'order.placed', '\\x00', '["not", "an", "object"]')`,
      );
      await bus.publish(OrderPlaced, { orderId: 'after', n: 2 }, { transaction: client });
    });
    const errors: unknown[] = [];
    const relayStore = createPostgresOutboxStore({
      pool,
      schema: db.schema.name,
      onError: (e) => errors.push(e),
    });
    scope.track(relayStore);
    const relay = createOutboxRelay({ store: relayStore, transport });
    expect(await relay.drain()).toBe(2);
    expect(orderIds(transport.published)).toEqual(['before', 'after']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    const { rows } = await pool.query(
      `select id, status, last_error from eda_outbox where status = 'dead' order by seq`,
    );
    expect(rows.map((r) => r.id)).toEqual(['raw-1', 'raw-2']);
    expect(rows[0].last_error).toMatch(/DecodeError: .*"id" is missing/);
    expect(rows[1].last_error).toMatch(/not a JSON object/);
  });
});

describe('relay loop', () => {
  it('wakes on NOTIFY without waiting for the poll interval', async () => {
    const { pool, store, transport, bus } = await setup();
    const relay = createOutboxRelay({ store, transport, pollIntervalMs: 600_000, purge: false });
    relay.start();
    try {
      // Let the relay reach its wait (it finds nothing and listens).
      await new Promise((resolve) => setTimeout(resolve, 300));
      await withTransaction(pool, (client) =>
        bus.publish(OrderPlaced, { orderId: 'wake', n: 1 }, { transaction: client }),
      );
      // With a ten-minute poll interval only the notification can deliver it within this wait.
      await until(() => transport.published.length === 1, 'the notified record', 20_000);
    } finally {
      await relay.stop();
    }
  });

  it('stops gracefully: the in-flight batch is published and completed before stop() resolves', async () => {
    const { pool, store, transport, bus } = await setup();
    await withTransaction(pool, async (client) => {
      for (let n = 0; n < 5; n++)
        await bus.publish(OrderPlaced, { orderId: `o-${n}`, n }, { transaction: client });
    });
    let releaseAck!: () => void;
    const ackHeld = new Promise<void>((resolve) => {
      releaseAck = resolve;
    });
    let publishing = false;
    transport.beforeAck = async () => {
      publishing = true;
      await ackHeld;
    };
    const relay = createOutboxRelay({ store, transport, batchSize: 100 });
    relay.start();
    await until(() => publishing, 'the batch to be in flight');
    const stopped = relay.stop();
    releaseAck();
    await stopped;
    expect(transport.published).toHaveLength(5);
    expect(await store.counts()).toEqual({ pending: 0, published: 5, dead: 0 });
  });
});

describe('retention', () => {
  it('purges published rows older than the window in bounded batches, never pending or dead ones', async () => {
    const { pool, store, transport, bus } = await setup();
    await withTransaction(pool, async (client) => {
      for (let n = 0; n < 25; n++)
        await bus.publish(OrderPlaced, { orderId: `o-${n}`, n }, { transaction: client });
    });
    await createOutboxRelay({ store, transport }).drain();
    await withTransaction(pool, (client) =>
      bus.publish(OrderPlaced, { orderId: 'pending', n: 0 }, { transaction: client }),
    );
    await pool.query(
      `update eda_outbox set published_at = now() - interval '2 hours' where status = 'published'`,
    );
    expect(await store.purge({ olderThanMs: 3_600_000, limit: 10 })).toBe(10);
    expect(await store.purge({ olderThanMs: 3_600_000, limit: 10 })).toBe(10);
    expect(await store.purge({ olderThanMs: 3_600_000, limit: 10 })).toBe(5);
    expect(await store.purge({ olderThanMs: 3_600_000, limit: 10 })).toBe(0);
    expect(await store.counts()).toEqual({ pending: 1, published: 0, dead: 0 });
  });

  it('purgeAll empties a large backlog batch by batch; recent rows stay', async () => {
    const { pool, store, transport, bus } = await setup();
    await withTransaction(pool, async (client) => {
      await store.add(
        client,
        Array.from({ length: 2500 }, (_, n) => ({
          attributes: {
            id: `id-${n}`,
            type: 'order.placed',
            source: 'orders',
            specversion: '1.0' as const,
            kind: 'event' as const,
          },
          body: new Uint8Array([n % 256]),
        })),
      );
    });
    await createOutboxRelay({ store, transport, batchSize: 500 }).drain();
    await pool.query(
      `update eda_outbox set published_at = now() - interval '2 hours' where seq % 2 = 0`,
    );
    const purged = await store.purgeAll({ olderThanMs: 3_600_000, batchSize: 300 });
    expect(purged).toBe(1250);
    expect(await store.counts()).toEqual({ pending: 0, published: 1250, dead: 0 });
    void bus;
  });

  it('deletes at once with completion: delete', async () => {
    const { pool, store, transport, bus } = await setup({ completion: 'delete' });
    await withTransaction(pool, (client) =>
      bus.publish(OrderPlaced, { orderId: 'gone', n: 1 }, { transaction: client }),
    );
    expect(await createOutboxRelay({ store, transport }).drain()).toBe(1);
    expect(await store.counts()).toEqual({ pending: 0, published: 0, dead: 0 });
  });
});

describe('commands', () => {
  it('relays commands with send() and events with publish(), in order', async () => {
    const { pool, store } = await setup();
    const ShipOrder = defineEvent<{ orderId: string }>({ type: 'ship.order', owner: 'orders' });
    const calls: string[] = [];
    const transport = recordingTransport();
    transport.send = async (messages) => {
      calls.push(...messages.map((m) => `send:${m.attributes.type}`));
    };
    transport.publish = async (messages) => {
      calls.push(...messages.map((m) => `publish:${m.attributes.type}`));
    };
    await withTransaction(pool, async (client) => {
      await createBus({ service: 'orders', transport, outbox: store }).publish(
        ShipOrder,
        { orderId: 'x' },
        { transaction: client },
      );
      await store.add(client, [
        {
          attributes: {
            id: 'c-1',
            type: 'ship.now',
            source: 'orders',
            specversion: '1.0',
            kind: 'command',
          },
          body: new Uint8Array(),
        },
      ]);
    });
    expect(await createOutboxRelay({ store, transport }).drain()).toBe(2);
    expect(calls).toEqual(['publish:ship.order', 'send:ship.now']);
  });
});

describe('commit-order fence', () => {
  it.each(['lease', 'lock'] as const)(
    'reports how long a held-open transaction holds committed records back, and warns past fenceWarnMs (claimMode %s)',
    async (claimMode) => {
      const db = await scope.open();
      const pool = db.pool();
      const errors: unknown[] = [];
      const fenceWarnMs = 500;
      const store = scope.track(
        createPostgresOutboxStore({
          pool,
          schema: db.schema.name,
          claimMode,
          fenceWarnMs,
          onError: (error) => errors.push(error),
        }),
      );
      const bus = createBus({ service: 'orders', transport: recordingTransport(), outbox: store });
      // A transaction that took its id (a write) and stays open: the fence stops at it.
      const holder = await pool.connect();
      try {
        await holder.query('begin');
        await holder.query('select pg_current_xact_id()');
        await withTransaction(pool, (client) =>
          bus.publish(OrderPlaced, { orderId: 'o-1', n: 1 }, { transaction: client }),
        );
        let warning: OutboxFenceHeldError | undefined;
        await until(async () => {
          const claimed = await store.claim({ limit: 10, leaseMs: 30_000 });
          expect(claimed, 'a record committed after the open transaction began').toEqual([]);
          warning = errors.find(
            (e): e is OutboxFenceHeldError => e instanceof OutboxFenceHeldError,
          );
          return warning !== undefined;
        }, 'the fence warning');
        expect(warning).toMatchObject({ code: 'EDA_OUTBOX_FENCE_HELD', waiting: 1 });
        expect(warning!.ageMs).toBeGreaterThanOrEqual(fenceWarnMs);
        expect(warning!.message).toMatch(/server-wide/);
        const lag = await store.fenceLag();
        expect(lag.waiting).toBe(1);
        expect(lag.ageMs, 'the age of the transaction holding the fence').toBeGreaterThan(0);
        // The test role sees every session: the holder is named (ours, or an older transaction
        // of another client of this server).
        expect(lag.holder?.kind).toBe('session');
        expect(
          errors.filter((e) => !(e instanceof OutboxFenceHeldError)),
          'other errors',
        ).toEqual([]);
        await holder.query('commit');
      } finally {
        holder.release();
      }
      let claimed: Awaited<ReturnType<typeof store.claim>> = [];
      await until(async () => {
        claimed = await store.claim({ limit: 10, leaseMs: 30_000 });
        return claimed.length > 0;
      }, 'the record once the transaction ended');
      expect(orderIds(claimed.map((r) => r.message))).toEqual(['o-1']);
      await store.complete(claimed);
      expect((await store.fenceLag()).waiting).toBe(0);
    },
  );
});

describe("claimMode 'lock'", () => {
  it('writes each record once, and a hung claim loses its locks after leaseMs: the records are claimed again and the late completion fails', async () => {
    const { pool, store, bus } = await setup({ claimMode: 'lock', completion: 'delete' });
    await publishOrdersOfOneAggregate(pool, bus, 2);
    const versions = `select seq, xmin::text as version from eda_outbox order by seq`;
    const before = (await pool.query(versions)).rows;
    const hung = await store.claim({ limit: 10, leaseMs: 300 });
    expect(orderIds(hung.map((r) => r.message))).toEqual(['o-1', 'o-2']);
    // Nothing was written by the claim: no lease row, and the rows are the versions the writer
    // committed (a row lock does not make a new version); they are only locked.
    expect(await leaseRows(pool)).toEqual([]);
    expect((await pool.query(versions)).rows).toEqual(before);
    const locked = await pool.query(
      `select count(*)::int as n from eda_outbox where seq in (select seq from eda_outbox for update skip locked)`,
    );
    expect(locked.rows[0].n, 'rows a SKIP LOCKED reader can take while the claim is held').toBe(0);
    const other = createPostgresOutboxStore({
      pool,
      schema: scope.db.schema.name,
      claimMode: 'lock',
      completion: 'delete',
    });
    scope.track(other);
    expect(await other.claim({ limit: 10, leaseMs: 30_000 }), 'while the claim is held').toEqual(
      [],
    );
    let again: Awaited<ReturnType<typeof other.claim>> = [];
    await until(async () => {
      again = await other.claim({ limit: 10, leaseMs: 30_000 });
      return again.length > 0;
    }, 'the idle claim to be ended by the server');
    expect(orderIds(again.map((r) => r.message))).toEqual(['o-1', 'o-2']);
    await expect(store.complete(hung)).rejects.toThrow(/claim|connection/);
    await other.complete(again);
    expect(await store.counts()).toEqual({ pending: 0, published: 0, dead: 0 });
  });

  it.each([
    ['no other batch leased', false],
    ['another relay holding a batch, so the claim takes the exact selection', true],
  ])(
    'does not pass a record row-locked by another session: the rest of its aggregate waits (%s)',
    async (_, otherBatch) => {
      const { pool, store, bus } = await setup({ claimMode: 'lock' });
      if (otherBatch) await leaseOtherBatch(pool, bus);
      await publishKeyedOrders(pool, bus, [
        ['x-1', 'x'],
        ['x-2', 'x'],
        ['y-1', 'y'],
      ]);
      // Another session holds x-1's row lock, as a lease-mode relay whose lease expired does
      // while it runs its late fail(x-1).
      const holder = await pool.connect();
      try {
        await holder.query('begin');
        await holder.query(
          `select seq from eda_outbox where headers->>'partitionkey' = 'x' order by seq limit 1 for update`,
        );
        const claimed = await store.claim({ limit: 10, leaseMs: 30_000 });
        expect(
          orderIds(claimed.map((r) => r.message)),
          'claimed while x-1 is locked elsewhere',
        ).toEqual(['y-1']);
        await store.complete(claimed);
        await holder.query('commit');
      } finally {
        holder.release();
      }
      const rest = await store.claim({ limit: 10, leaseMs: 30_000 });
      expect(orderIds(rest.map((r) => r.message)), 'once the lock is gone').toEqual(['x-1', 'x-2']);
      await store.complete(rest);
    },
  );

  it('commits a batch settled in parts (a completed run, then a failed one) at once', async () => {
    const { pool, store, bus } = await setup({ claimMode: 'lock' });
    await withTransaction(pool, async (client) => {
      for (const n of [1, 2, 3])
        await bus.publish(OrderPlaced, { orderId: `o-${n}`, n }, { transaction: client });
    });
    const claimed = await store.claim({ limit: 10, leaseMs: 30_000 });
    await store.complete(claimed.slice(0, 1));
    expect(await store.counts(), 'nothing committed while records are open').toEqual({
      pending: 3,
      published: 0,
      dead: 0,
    });
    await store.fail(claimed.slice(1), { error: 'broker down', maxAttempts: 1, retryAfterMs: 0 });
    expect(await store.counts()).toEqual({ pending: 0, published: 1, dead: 2 });
    expect(await store.claim({ limit: 10, leaseMs: 30_000 })).toEqual([]);
  });
});

describe("batch leases (claimMode 'lease')", () => {
  const versions = `select seq, xmin::text as version from eda_outbox order by seq`;

  it.each([
    ['complete, completion mark', 'mark', 'complete'],
    ['complete, completion delete', 'delete', 'complete'],
    ['fail', 'mark', 'fail'],
  ] as const)(
    'leases a batch with one lease row and no write to its rows, and deletes the row when the batch is done (%s)',
    async (_, completion, settle) => {
      const { pool, store, bus } = await setup({ completion });
      await withTransaction(pool, async (client) => {
        for (const [n, key] of [
          [1, 'a'],
          [2, undefined],
          [3, 'b'],
        ] as const)
          await bus.publish(
            OrderPlaced,
            { orderId: `o-${n}`, n },
            { transaction: client, ...(key ? { partitionKey: key } : {}) },
          );
      });
      const before = (await pool.query(versions)).rows;
      const claimed = await store.claim({ limit: 10, leaseMs: 30_000 });
      expect(orderIds(claimed.map((r) => r.message))).toEqual(['o-1', 'o-2', 'o-3']);
      expect(await leaseRows(pool)).toEqual([
        { seqs: claimed.map((r) => r.recordId), aggregates: ['a', null, 'b'], active: true },
      ]);
      expect((await pool.query(versions)).rows, 'row versions after the claim').toEqual(before);
      if (settle === 'complete') await store.complete(claimed);
      else await store.fail(claimed, { error: 'broker down', maxAttempts: 5, retryAfterMs: 0 });
      expect(await leaseRows(pool), 'lease rows once the batch is done').toEqual([]);
      if (settle === 'fail') {
        const again = await store.claim({ limit: 10, leaseMs: 30_000 });
        expect(orderIds(again.map((r) => r.message))).toEqual(['o-1', 'o-2', 'o-3']);
        expect(again.map((r) => r.attempts)).toEqual([1, 1, 1]);
      } else {
        expect(await store.counts()).toEqual({
          pending: 0,
          published: completion === 'mark' ? 3 : 0,
          dead: 0,
        });
      }
    },
  );

  it('takes a dead-lettered row out of its lease, so the lease row goes with the rest of the batch', async () => {
    const { pool, store, bus } = await setup();
    await withTransaction(pool, async (client) => {
      await client.query(
        `insert into eda_outbox (id, aggregatetype, aggregateid, type, payload, headers) values ('raw-1', 'order.placed', 'r', 'order.placed', '\\x00', '{"type":"order.placed"}')`,
      );
      await bus.publish(OrderPlaced, { orderId: 'good', n: 1 }, { transaction: client });
    });
    const claimed = await store.claim({ limit: 10, leaseMs: 30_000 });
    expect(orderIds(claimed.map((r) => r.message))).toEqual(['good']);
    expect(await leaseRows(pool), 'only the decoded record is still leased').toEqual([
      { seqs: [claimed[0]!.recordId], aggregates: [null], active: true },
    ]);
    await store.complete(claimed);
    expect(await leaseRows(pool)).toEqual([]);
    expect(await store.counts()).toEqual({ pending: 0, published: 1, dead: 1 });
  });

  it('keeps the rest of a batch leased after its prefix is completed, until fail() releases it', async () => {
    const { pool, store, bus, db } = await setup();
    await withTransaction(pool, async (client) => {
      for (const key of ['a', 'b', 'c'])
        await bus.publish(
          OrderPlaced,
          { orderId: `${key}-1`, n: 1 },
          { transaction: client, partitionKey: key },
        );
      for (const key of ['a', 'b', 'c'])
        await bus.publish(
          OrderPlaced,
          { orderId: `${key}-2`, n: 2 },
          { transaction: client, partitionKey: key },
        );
    });
    const other = scope.track(createPostgresOutboxStore({ pool, schema: db.schema.name }));
    const batch = await store.claim({ limit: 3, leaseMs: 30_000 });
    expect(orderIds(batch.map((r) => r.message))).toEqual(['a-1', 'b-1', 'c-1']);
    // As the relay does when the publish of the second record is refused.
    await store.complete(batch.slice(0, 1));
    expect(await leaseRows(pool), 'the unsettled rest of the batch').toEqual([
      { seqs: batch.slice(1).map((r) => r.recordId), aggregates: ['b', 'c'], active: true },
    ]);
    // a-1 is done, so a-2 may go; b-1 and c-1 are still leased, so neither they nor the records
    // behind them may.
    const meanwhile = await other.claim({ limit: 10, leaseMs: 30_000 });
    expect(orderIds(meanwhile.map((r) => r.message))).toEqual(['a-2']);
    await store.fail(batch.slice(1), {
      error: 'broker down',
      maxAttempts: 5,
      retryAfterMs: 60_000,
    });
    expect(await leaseRows(pool), 'only the other relay holds a lease').toEqual([
      { seqs: [meanwhile[0]!.recordId], aggregates: ['a'], active: true },
    ]);
    // b-1 and c-1 now wait for their retry, and hold back b-2 and c-2.
    expect(await other.claim({ limit: 10, leaseMs: 30_000 })).toEqual([]);
    const { rows } = await pool.query(
      `select headers->>'partitionkey' as key, attempts from eda_outbox
       where status = 'pending' and available_at > now() order by seq`,
    );
    expect(rows).toEqual([
      { key: 'b', attempts: 1 },
      { key: 'c', attempts: 1 },
    ]);
    await other.complete(meanwhile);
    expect(await leaseRows(pool)).toEqual([]);
  });

  it('lets another relay take over a batch whose lease expired; its claim deletes the expired lease row, and the late completion or failure is refused and changes nothing', async () => {
    const { pool, store, bus, db } = await setup();
    await publishOrdersOfOneAggregate(pool, bus, 2);
    const other = scope.track(createPostgresOutboxStore({ pool, schema: db.schema.name }));
    const leaseMs = 300;
    const claimedAt = Date.now();
    const stale = await store.claim({ limit: 10, leaseMs });
    expect(await other.claim({ limit: 10, leaseMs: 30_000 }), 'during the lease').toEqual([]);
    let taken: Awaited<ReturnType<typeof other.claim>> = [];
    await until(async () => {
      taken = await other.claim({ limit: 10, leaseMs: 30_000 });
      return taken.length > 0;
    }, 'the lease to expire');
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(leaseMs - 100);
    expect(orderIds(taken.map((r) => r.message))).toEqual(['o-1', 'o-2']);
    expect(await leaseRows(pool), 'the new lease only').toEqual([
      { seqs: taken.map((r) => r.recordId), aggregates: ['o', 'o'], active: true },
    ]);
    // The first relay comes back and settles: refused, since its lease was taken over. The new
    // holder's lease and the rows are as they were, so nothing of aggregate o can pass `other`.
    const rowsBefore = (await pool.query(versions)).rows;
    await expect(store.complete(stale)).rejects.toThrow(UnavailableError);
    await expect(
      store.fail(stale, { error: 'late', maxAttempts: 1, retryAfterMs: 0 }),
    ).rejects.toThrow(/no longer held by the claim that returned them/);
    expect(await leaseRows(pool), 'the new lease, untouched').toEqual([
      { seqs: taken.map((r) => r.recordId), aggregates: ['o', 'o'], active: true },
    ]);
    expect((await pool.query(versions)).rows, 'rows untouched by the stale settlements').toEqual(
      rowsBefore,
    );
    expect(await store.counts()).toEqual({ pending: 2, published: 0, dead: 0 });
    await other.complete(taken);
    expect(await leaseRows(pool)).toEqual([]);
    expect(await store.counts()).toEqual({ pending: 0, published: 2, dead: 0 });
    expect(await other.claim({ limit: 10, leaseMs: 30_000 })).toEqual([]);
  });
});
