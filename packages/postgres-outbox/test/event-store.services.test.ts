// The PostgreSQL event store's own rules, beyond the contract suite: the same-client rule of
// append, data jsonb cannot hold, positions it did not hand out, and invalid names.
import { ConfigurationError, defineDomainEvent, domainEvent, EncodeError } from '@eda/core';
import { cleanupServices } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPostgresEventStore,
  ensureEventStoreSchema,
  type PostgresEventStore,
  withTransaction,
} from '../src/index.js';
import { type TestDatabase, useDatabase } from './helpers.js';

const Noted = defineDomainEvent<{ note: string }>({ type: 'noted' });

let db: TestDatabase | undefined;
let store: PostgresEventStore | undefined;
afterEach(async () => {
  await store?.close();
  await db?.close();
  db = undefined;
  await cleanupServices();
  store = undefined;
});

async function open(poolSize?: number) {
  db = await useDatabase('event_store');
  const pool = db.pool('eda-event-store-test', poolSize);
  await ensureEventStoreSchema(pool, { schema: db.schema.name });
  store = createPostgresEventStore({ pool, schema: db.schema.name });
  return { pool, store };
}

describe('postgres event store', () => {
  it('append refuses a pool and a client outside a transaction, before any SQL', async () => {
    const { pool, store } = await open();
    await expect(store.append(pool, 's-1', 0, [domainEvent(Noted, { note: 'a' })])).rejects.toThrow(
      /append\(\) was given a pool/,
    );
    const client = await pool.connect();
    try {
      await expect(
        store.append(client, 's-1', 0, [domainEvent(Noted, { note: 'a' })]),
      ).rejects.toThrow(/append\(\) was given a client that is not inside a transaction/);
    } finally {
      client.release();
    }
    expect(await store.streamVersion('s-1')).toBe(0);
  });

  it('reads a stream through the caller transaction on a pool of one connection: its own appends, no second connection', async () => {
    // A handler that loads a stream inside its transaction while the pool is exhausted (every
    // connection held by such a handler) must not wait for a connection of its own.
    const { pool, store } = await open(1);
    await withTransaction(pool, (client) =>
      store.append(client, 'one-1', 0, [domainEvent(Noted, { note: 'committed' })]),
    );
    const within = await withTransaction(pool, async (client) => {
      await store.append(client, 'one-1', 1, [domainEvent(Noted, { note: 'mine' })]);
      return {
        events: await store.readStream('one-1', { transaction: client }),
        version: await store.streamVersion('one-1', { transaction: client }),
        pooled: pool.waitingCount,
      };
    });
    expect(within.events.map((e) => [e.version, e.data])).toEqual([
      [1, { note: 'committed' }],
      [2, { note: 'mine' }],
    ]);
    expect(within.version).toBe(2);
    expect(within.pooled, 'queries waiting for a pooled connection').toBe(0);
    await expect(store.readStream('one-1', { transaction: pool })).rejects.toThrow(
      /readStream\(\) was given a pool/,
    );
  });

  it('refuses data with a NUL character (EncodeError) and leaves the transaction usable', async () => {
    const { pool, store } = await open();
    await withTransaction(pool, async (client) => {
      await expect(
        store.append(client, 's-2', 0, [domainEvent(Noted, { note: 'a\u0000b' })]),
      ).rejects.toThrow(EncodeError);
      await store.append(client, 's-2', 0, [domainEvent(Noted, { note: 'ok' })]);
    });
    expect((await store.readStream('s-2')).map((e) => e.data)).toEqual([{ note: 'ok' }]);
  });

  it('refuses positions it did not hand out, bad limits and invalid table names', async () => {
    const { pool, store } = await open();
    await expect(store.readAll({ after: '12', limit: 10 })).rejects.toThrow(ConfigurationError);
    await expect(store.readAll({ limit: 0 })).rejects.toThrow(/limit is 0/);
    expect(() => createPostgresEventStore({ pool, table: 'events; drop table x' })).toThrow(
      /not a valid identifier/,
    );
  });
});
