// Fault tests against real PostgreSQL: a relay process killed between the broker's ack and the
// completion, backends terminated mid-batch, and several relays racing over one table.
import { createOutboxRelay, type OutgoingMessage } from '@eda/core';
import { cleanupServices, terminatePostgresBackends } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPostgresOutboxStore,
  type PostgresOutboxStore,
  withTransaction,
} from '../src/index.js';
import { killFixtureChildren, startFixtureChild } from './fixture-child.js';
import { brokerTableSql, tableBroker } from './fixtures/table-broker.js';
import { recordingTransport, type TestDatabase, until, useDatabase } from './helpers.js';

let db: TestDatabase | undefined;
const stores: PostgresOutboxStore[] = [];

afterEach(async () => {
  killFixtureChildren();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await db?.close();
  db = undefined;
  await cleanupServices();
});

function message(n: number, key: string): OutgoingMessage {
  return {
    attributes: {
      id: `evt-${n}`,
      type: 'order.placed',
      source: 'orders',
      specversion: '1.0',
      kind: 'event',
      partitionkey: key,
    },
    body: Buffer.from(JSON.stringify({ n })),
  };
}

/** Writes `count` events in transactions of `perTransaction`, spread over `keys` aggregates. */
async function seed(
  store: PostgresOutboxStore,
  pool: import('pg').Pool,
  count: number,
  perTransaction: number,
  keys = 50,
) {
  for (let start = 0; start < count; start += perTransaction) {
    await withTransaction(pool, (client) =>
      store.add(
        client,
        Array.from({ length: Math.min(perTransaction, count - start) }, (_, i) =>
          message(start + i, `k-${(start + i) % keys}`),
        ),
      ),
    );
  }
}

describe('relay process killed with SIGKILL', () => {
  it('re-sends the batch that the broker acknowledged but the dead relay never completed; nothing is lost', async () => {
    db = await useDatabase('sigkill');
    const pool = db.pool();
    await pool.query(brokerTableSql);
    const store = createPostgresOutboxStore({ pool, schema: db.schema.name });
    stores.push(store);
    await seed(store, pool, 300, 100);

    const { child, output, errors } = startFixtureChild('relay-child.ts', {
      EDA_TEST_SCHEMA: db.schema.name,
      EDA_HANG_AFTER_ACK: '1',
      EDA_BATCH_SIZE: '100',
      EDA_LEASE_MS: '1500',
    });
    await until(
      () => output().includes('acked 100') || child.exitCode !== null,
      'the child to publish a batch',
      60_000,
    );
    expect(errors()).toBe('');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    // The broker has the batch; the outbox still holds it, leased by the dead relay.
    const acked = await pool.query('select count(*)::int as n from broker_received');
    expect(acked.rows[0].n).toBe(100);
    expect((await store.counts()).pending).toBe(300);

    const relay = createOutboxRelay({
      store,
      transport: tableBroker(pool),
      pollIntervalMs: 100,
      batchSize: 100,
    });
    relay.start();
    await until(
      async () => (await store.counts()).pending === 0,
      'the new relay to deliver everything',
    );
    await relay.stop();
    const { rows } = await pool.query(
      'select count(distinct message_id)::int as distinct_ids, count(*)::int as total from broker_received',
    );
    expect(rows[0].distinct_ids).toBe(300); // none lost
    expect(rows[0].total).toBe(400); // the killed batch was sent twice: at least once, as promised
  });
});

describe('database connections terminated mid-batch', () => {
  it('recovers: the failed completion is retried after the lease, every record is delivered, LISTEN comes back', async () => {
    db = await useDatabase('terminate');
    const schema = db.schema.name;
    const writerPool = db.pool('eda-outbox-writer');
    const relayPool = db.pool('eda-outbox-relay');
    const store = createPostgresOutboxStore({ pool: relayPool, schema, reconnectDelayMs: 100 });
    const observer = createPostgresOutboxStore({ pool: writerPool, schema, notifications: false });
    stores.push(store, observer);
    await seed(observer, writerPool, 500, 100);
    const transport = recordingTransport();
    const blocker = await writerPool.connect();
    let cut = false;
    transport.beforeAck = async () => {
      if (cut) return;
      cut = true;
      // Hold row locks on the batch so the relay's completion blocks in the database: the
      // termination then hits a statement in flight, as a real outage would.
      await blocker.query('begin');
      await blocker.query(`select seq from eda_outbox where status = 'pending' for update`);
    };
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store,
      transport,
      batchSize: 100,
      leaseMs: 1000,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
      pollIntervalMs: 100,
      onError: (error) => errors.push(error),
    });
    relay.start();
    const waitingOnLock = async () => {
      const { rows } = await writerPool.query(
        `select count(*)::int as n from pg_stat_activity where application_name = 'eda-outbox-relay' and wait_event_type = 'Lock'`,
      );
      return rows[0].n === 1;
    };
    await until(waitingOnLock, 'the completion to block on the row locks');
    expect(
      await terminatePostgresBackends({ applicationName: 'eda-outbox-relay' }),
    ).toBeGreaterThanOrEqual(2);
    await blocker.query('rollback');
    blocker.release();

    await until(
      async () => (await observer.counts()).pending === 0,
      'all records to be delivered',
      60_000,
    );
    await relay.stop();
    expect(errors.some((e) => /terminat/i.test(String((e as Error).message)))).toBe(true);
    const ids = new Set(transport.published.map((m) => m.attributes.id));
    expect(ids.size).toBe(500);
    // The interrupted batch was published, not completed, and so published again after its lease.
    expect(transport.published.length).toBeGreaterThanOrEqual(600);
    expect(await observer.counts()).toEqual({ pending: 0, published: 500, dead: 0 });
    // The store re-opened its LISTEN connection.
    relay.start();
    await until(async () => {
      const { rows } = await writerPool.query(
        `select count(*)::int as n from pg_stat_activity where application_name = 'eda-outbox-relay' and query ilike 'listen%'`,
      );
      return rows[0].n === 1;
    }, 'the LISTEN connection to come back');
    await relay.stop();
  });
});

describe('concurrent relays', () => {
  it.each([2, 4])(
    '%i relays over 10,000 events: each delivered at least once, none lost, per-aggregate order kept',
    async (relays) => {
      db = await useDatabase(`relays-${relays}`);
      const writerPool = db.pool('eda-outbox-writer');
      const writer = createPostgresOutboxStore({
        pool: writerPool,
        schema: db.schema.name,
        notifications: false,
      });
      stores.push(writer);
      await seed(writer, writerPool, 10_000, 500, 200);

      const delivered: OutgoingMessage[] = [];
      const running = Array.from({ length: relays }, (_, index) => {
        // Each relay has its own pool and store, as separate processes would.
        const store = createPostgresOutboxStore({
          pool: db!.pool(`eda-relay-${index}`, 2),
          schema: db!.schema.name,
        });
        stores.push(store);
        const transport = recordingTransport();
        transport.beforeAck = async (messages) => {
          delivered.push(...messages);
          // Yield so the relays interleave as real network round trips would make them.
          await new Promise((resolve) => setImmediate(resolve));
        };
        return createOutboxRelay({ store, transport, batchSize: 100, pollIntervalMs: 50 });
      });
      for (const relay of running) relay.start();
      await until(
        async () => (await writer.counts()).pending === 0,
        'every event to be delivered',
        110_000,
      );
      await Promise.all(running.map((relay) => relay.stop()));

      const seen = new Map<string, number>();
      for (const m of delivered) seen.set(m.attributes.id, (seen.get(m.attributes.id) ?? 0) + 1);
      const duplicates = delivered.length - seen.size;
      console.info(
        `${relays} relays: ${delivered.length} deliveries, ${seen.size} distinct, ${duplicates} duplicates`,
      );
      expect(seen.size).toBe(10_000);
      // Per aggregate, first deliveries come in write order.
      const lastByKey = new Map<string, number>();
      for (const m of delivered) {
        const n = Number(m.attributes.id.slice(4));
        const key = m.attributes.partitionkey!;
        if ((seen.get(m.attributes.id) ?? 0) > 1) continue;
        expect(n).toBeGreaterThan(lastByKey.get(key) ?? -1);
        lastByKey.set(key, n);
      }
      expect(await writer.counts()).toEqual({ pending: 0, published: 10_000, dead: 0 });
    },
  );
});
