// Option validation that needs no database: names are validated before any SQL exists.
import { ConfigurationError } from '@eda/core';
import { describe, expect, it } from 'vitest';
import {
  createFallbackTransport,
  createPostgresIdempotencyStore,
  createPostgresInbox,
  createPostgresOutboxStore,
  idempotencySchemaSql,
  inboxSchemaSql,
  outboxSchemaSql,
  type SqlPool,
  withTransaction,
} from '../src/index.js';

const noDatabase: SqlPool = {
  query: () => Promise.reject(new Error('no database in unit tests')),
  connect: () => Promise.reject(new Error('no database in unit tests')),
};

describe('identifiers', () => {
  it.each([
    ['table', { table: 'x; drop table y' }],
    ['table', { table: '"quoted"' }],
    ['table', { table: '' }],
    ['schema', { schema: 'a.b' }],
    ['schema', { schema: "pub'lic" }],
  ])('rejects a %s that is not a plain identifier, for every table kind', (what, options) => {
    for (const sql of [outboxSchemaSql, inboxSchemaSql, idempotencySchemaSql]) {
      expect(() => sql(options)).toThrow(ConfigurationError);
      expect(() => sql(options)).toThrow(new RegExp(`${what} .* is not a valid identifier`));
    }
  });

  it('quotes accepted names everywhere they appear, including derived index names', () => {
    const sql = outboxSchemaSql({ schema: 'Billing', table: 'Outbox_2' });
    expect(sql).toContain('create table if not exists "Billing"."Outbox_2"');
    expect(sql).toContain('"Outbox_2_pending" on "Billing"."Outbox_2"');
    expect(sql).not.toMatch(/[^"]Billing[^"]/);
  });

  it('keeps the Debezium outbox router columns', () => {
    const sql = outboxSchemaSql();
    for (const column of [
      'id text',
      'aggregatetype text',
      'aggregateid text',
      'type text',
      'payload bytea',
    ])
      expect(sql).toContain(column);
  });
});

describe('options', () => {
  it('name the adapter and say what to do', () => {
    expect(() => createPostgresOutboxStore({ pool: undefined as unknown as SqlPool })).toThrow(
      /postgres-outbox: createPostgresOutboxStore needs a pool/,
    );
    expect(() => createPostgresOutboxStore({ pool: noDatabase, reconnectDelayMs: 0 })).toThrow(
      /reconnectDelayMs/,
    );
    expect(() =>
      createPostgresOutboxStore({ pool: noDatabase, notifications: 'yes' as unknown as false }),
    ).toThrow(/notifications must be false or a function/);
    expect(() => createPostgresInbox({ pool: noDatabase, consumer: '' })).toThrow(
      /consumer must be a non-empty string/,
    );
    expect(() => createPostgresIdempotencyStore({ pool: noDatabase, table: 'bad name' })).toThrow(
      /postgres-idempotency: table/,
    );
    const store = createPostgresOutboxStore({ pool: noDatabase });
    expect(() =>
      createFallbackTransport({ transport: undefined as never, store, pool: noDatabase }),
    ).toThrow(/needs transport, store and pool/);
  });

  it('refuse claims and purges with impossible limits before touching the database', async () => {
    const store = createPostgresOutboxStore({ pool: noDatabase });
    await expect(store.claim({ limit: 0, leaseMs: 1000 })).rejects.toThrow(/claim limit is 0/);
    await expect(store.purge({ olderThanMs: 0, limit: -1 })).rejects.toThrow(/purge limit/);
    await expect(withTransaction(undefined as unknown as SqlPool, async () => 1)).rejects.toThrow(
      ConfigurationError,
    );
  });

  it("refuse claimMode 'lock' without a pool that can check out a connection, and leases PostgreSQL cannot time", async () => {
    expect(() =>
      createPostgresOutboxStore({ pool: noDatabase, claimMode: 'locked' as unknown as 'lock' }),
    ).toThrow(/claimMode is "locked": use 'lease' or 'lock'/);
    const queryOnly = { query: noDatabase.query };
    expect(() => createPostgresOutboxStore({ pool: queryOnly, claimMode: 'lock' })).toThrow(
      /pass a pg.Pool \(with connect\(\)\)/,
    );
    const store = createPostgresOutboxStore({ pool: noDatabase, claimMode: 'lock' });
    await expect(store.claim({ limit: 10, leaseMs: 2 ** 31 })).rejects.toThrow(
      /with claimMode 'lock' use at most 2147483647/,
    );
  });

  it('has no notifications without a pg.Pool or a connection factory', () => {
    const store = createPostgresOutboxStore({ pool: noDatabase });
    expect(store.capabilities.notifications).toBe(false);
    expect(store.waitForChange).toBeUndefined();
  });
});
