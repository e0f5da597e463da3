// The PostgreSQL idempotency store (core's contract), until the contract suite covers it.
import { UnavailableError } from '@eda/core';
import pg from 'pg';
import { expect, it } from 'vitest';
import { createPostgresIdempotencyStore } from '../src/index.js';
import { until, useIdempotencyStoreScope } from './helpers.js';

const setup = useIdempotencyStoreScope('idem', 10);

const LEASE = { leaseMs: 60_000 };

it('gives exactly one of many parallel claims of a free key', async () => {
  const { store } = await setup();
  const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('k', LEASE)));
  expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
  expect(results.filter((r) => r.status === 'in-progress')).toHaveLength(19);
});

it('answers done after completion, until the retention ends', async () => {
  const { store } = await setup();
  const claim = await store.claim('k', LEASE);
  if (claim.status !== 'claimed') throw new Error('expected a claim');
  expect(await store.complete('k', claim.token, { retentionMs: 300 })).toBe(true);
  expect(await store.claim('k', LEASE)).toEqual({ status: 'done' });
  await until(
    async () => (await store.claim('k', LEASE)).status === 'claimed',
    'the retention to end',
  );
});

it('releases a failed claim so the retry is processed, and ignores a stale token', async () => {
  const { store } = await setup();
  const first = await store.claim('k', LEASE);
  if (first.status !== 'claimed') throw new Error('expected a claim');
  expect(await store.release('k', 'not-the-token')).toBe(false);
  expect(await store.release('k', first.token)).toBe(true);
  const second = await store.claim('k', LEASE);
  expect(second.status).toBe('claimed');
  expect(await store.complete('k', first.token, { retentionMs: 60_000 })).toBe(false);
});

it('lets another consumer claim after the lease of a crashed one expires; the old token is fenced off', async () => {
  const { store } = await setup();
  const crashed = await store.claim('k', { leaseMs: 200 });
  if (crashed.status !== 'claimed') throw new Error('expected a claim');
  await until(
    async () => (await store.claim('k', LEASE)).status === 'claimed',
    'the lease to expire',
  );
  expect(await store.complete('k', crashed.token, { retentionMs: 60_000 })).toBe(false);
});

it('applies only newer versions of an entity (version guard)', async () => {
  const { store } = await setup();
  const v2 = await store.claim('entity', { ...LEASE, version: 2 });
  if (v2.status !== 'claimed') throw new Error('expected a claim');
  expect(await store.complete('entity', v2.token, { retentionMs: 60_000, version: 2 })).toBe(true);
  expect(await store.claim('entity', { ...LEASE, version: 1 })).toEqual({
    status: 'stale',
    appliedVersion: 2,
  });
  expect(await store.claim('entity', { ...LEASE, version: 2 })).toEqual({
    status: 'stale',
    appliedVersion: 2,
  });
  const v3 = await store.claim('entity', { ...LEASE, version: 3 });
  expect(v3.status).toBe('claimed');
  if (v3.status !== 'claimed') return;
  expect(await store.release('entity', v3.token)).toBe(true);
  // A released version claim keeps the applied version.
  expect(await store.claim('entity', { ...LEASE, version: 2 })).toEqual({
    status: 'stale',
    appliedVersion: 2,
  });
  expect((await store.claimMany(['a', 'b', 'a'], LEASE)).map((r) => r.status)).toEqual([
    'claimed',
    'claimed',
    'in-progress',
  ]);
});

it('purges expired keys in bounded batches', async () => {
  const { store, pool } = await setup();
  for (const key of ['a', 'b', 'c']) {
    const claim = await store.claim(key, LEASE);
    if (claim.status === 'claimed') await store.complete(key, claim.token, { retentionMs: 0 });
  }
  await store.claim('live', LEASE);
  expect(await store.purge({ limit: 2 })).toBe(2);
  expect(await store.purge({ limit: 2 })).toBe(1);
  expect((await pool.query('select key from eda_idempotency')).rows).toEqual([{ key: 'live' }]);
});

it('reports an unreachable database as UnavailableError', async () => {
  await setup();
  const pool = new pg.Pool({
    connectionString: 'postgres://postgres@127.0.0.1:1/test',
    connectionTimeoutMillis: 500,
  });
  const store = createPostgresIdempotencyStore({ pool });
  await expect(store.claim('k', LEASE)).rejects.toThrow(UnavailableError);
  await pool.end();
});
