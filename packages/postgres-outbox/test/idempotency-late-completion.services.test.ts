import { describe, expect, it } from 'vitest';
import { until, useIdempotencyStoreScope } from './helpers.js';

const setup = useIdempotencyStoreScope('idem_late', 5);

const SHORT = { leaseMs: 100 };
const LONG = { leaseMs: 60_000 };

async function claimed(result: Promise<{ status: string; token?: string }>) {
  const claim = await result;
  if (claim.status !== 'claimed' || !claim.token)
    throw new Error(`expected a claim, got ${claim.status}`);
  return claim.token;
}

/** Waits until the lease of `key` has expired in the database (progress: the clock). */
async function leaseExpired(pool: import('pg').Pool, key: string) {
  await until(async () => {
    const { rows } = await pool.query(
      'select expires_at <= now() as expired from eda_idempotency where key = $1',
      [key],
    );
    return rows[0]?.expired === true;
  }, `the lease of ${key} to expire`);
}

describe('idempotency store: a completion after the lease expired', () => {
  it('is recorded when nobody claimed the key since: a later duplicate answers done', async () => {
    const { pool, store } = await setup();
    const token = await claimed(store.claim('slow', SHORT));
    await leaseExpired(pool, 'slow');
    expect(
      await store.complete('slow', token, { retentionMs: 60_000 }),
      'the completion was kept',
    ).toBe(true);
    expect(await store.claim('slow', LONG)).toEqual({ status: 'done' });
  });

  it('is recorded when the expired row was purged meanwhile', async () => {
    const { pool, store } = await setup();
    const token = await claimed(store.claim('purged', SHORT));
    await leaseExpired(pool, 'purged');
    expect(await store.purge({ limit: 10 })).toBe(1);
    expect(await store.complete('purged', token, { retentionMs: 60_000 })).toBe(true);
    expect(await store.claim('purged', LONG)).toEqual({ status: 'done' });
  });

  it('records the applied version of a late version completion: an older or equal version is stale', async () => {
    const { pool, store } = await setup();
    const token = await claimed(store.claim('entity', { ...SHORT, version: 5 }));
    await leaseExpired(pool, 'entity');
    expect(await store.complete('entity', token, { retentionMs: 60_000, version: 5 })).toBe(true);
    expect(await store.claim('entity', { ...LONG, version: 5 })).toEqual({
      status: 'stale',
      appliedVersion: 5,
    });
  });

  it('reports lease-lost only for a real takeover, and leaves the new holder untouched', async () => {
    const { pool, store } = await setup();
    const late = await claimed(store.claim('taken', SHORT));
    await leaseExpired(pool, 'taken');
    const current = await claimed(store.claim('taken', LONG));
    expect(await store.complete('taken', late, { retentionMs: 60_000 }), 'the old claim lost').toBe(
      false,
    );
    expect(await store.claim('taken', LONG), 'the new holder still holds it').toEqual({
      status: 'in-progress',
    });
    expect(await store.complete('taken', current, { retentionMs: 60_000 })).toBe(true);
    expect(await store.claim('taken', LONG)).toEqual({ status: 'done' });
  });
});
