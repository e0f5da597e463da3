// The store against the real Redis: atomic claims, leases, retention, the version guard,
// batched claims, namespacing, and what happens when Redis is unreachable or slow.
import { UnavailableError } from '@eda/core';
import { cleanupServices, endpoints, useRedisPrefix } from '@eda/test-services';
import { waitFor } from '@eda/test-suite';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisIdempotencyStore, RedisDedupeError } from '../src/index.js';
import { closeClients, connect, eventually } from './support/clients.js';
import { startTcpProxy } from './support/tcp-proxy.js';

afterEach(async () => {
  closeClients();
  await cleanupServices();
});

async function newStore(options: { coalesce?: boolean } = {}) {
  const { prefix } = await useRedisPrefix('dedupe');
  const client = await connect();
  return {
    store: createRedisIdempotencyStore({ client, keyPrefix: prefix, ...options }),
    client,
    prefix,
  };
}

describe('claims', () => {
  it.each([true, false])(
    'gives exactly one of 50 parallel claims of one key from 5 clients the key (coalesce %s)',
    async (coalesce) => {
      const { prefix } = await useRedisPrefix('race');
      const stores = await Promise.all(
        Array.from({ length: 5 }, async () =>
          createRedisIdempotencyStore({ client: await connect(), keyPrefix: prefix, coalesce }),
        ),
      );
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores[i % 5]!.claim('orders:msg:shop:1', { leaseMs: 30_000 }),
        ),
      );
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'in-progress')).toHaveLength(49);
    },
  );

  it('reports done after completion, and done again for every later claim in the window', async () => {
    const { store } = await newStore();
    const first = await store.claim('c:msg:s:1', { leaseMs: 10_000 });
    if (first.status !== 'claimed') throw new Error(`expected a claim, got ${first.status}`);
    expect(await store.complete('c:msg:s:1', first.token, { retentionMs: 60_000 })).toBe(true);
    expect(await store.claim('c:msg:s:1', { leaseMs: 10_000 })).toEqual({ status: 'done' });
    expect(await store.claimMany(['c:msg:s:1'], { leaseMs: 10_000 })).toEqual([{ status: 'done' }]);
    expect(store.stats()).toMatchObject({ claimed: 1, completed: 1, duplicates: 2 });
  });

  it('lets a released claim be claimed again (a failed handler is retried, not dropped)', async () => {
    const { store } = await newStore();
    const first = await store.claim('c:msg:s:2', { leaseMs: 10_000 });
    if (first.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.release('c:msg:s:2', first.token)).toBe(true);
    const second = await store.claim('c:msg:s:2', { leaseMs: 10_000 });
    expect(second.status).toBe('claimed');
    // The first token no longer holds the key: its late release or completion does nothing.
    expect(await store.release('c:msg:s:2', first.token)).toBe(false);
    expect(await store.complete('c:msg:s:2', first.token, { retentionMs: 60_000 })).toBe(false);
  });

  it('lets another consumer take an expired lease, and fences the first claimant out', async () => {
    const { store, client } = await newStore();
    const first = await store.claim('c:msg:s:3', { leaseMs: 150 });
    if (first.status !== 'claimed') throw new Error('expected a claim');
    expect((await store.claim('c:msg:s:3', { leaseMs: 150 })).status).toBe('in-progress');
    const second = await eventually(async () => {
      const r = await store.claim('c:msg:s:3', { leaseMs: 10_000 });
      return r.status === 'claimed' ? r : undefined;
    });
    expect(await store.complete('c:msg:s:3', first.token, { retentionMs: 60_000 })).toBe(false);
    expect(await store.complete('c:msg:s:3', second.token, { retentionMs: 60_000 })).toBe(true);
    expect(store.stats().completionsLost).toBe(1);
    expect(await client.hget(store.redisKeyOf('c:msg:s:3'), 's')).toBe('d');
  });

  it('forgets a completed key after the retention window (Redis expires it)', async () => {
    const { store, client } = await newStore();
    const claim = await store.claim('c:msg:s:4', { leaseMs: 10_000 });
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    await store.complete('c:msg:s:4', claim.token, { retentionMs: 200 });
    const ttl = await client.pttl(store.redisKeyOf('c:msg:s:4'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(200);
    await eventually(async () =>
      (await client.exists(store.redisKeyOf('c:msg:s:4'))) ? undefined : true,
    );
    expect((await store.claim('c:msg:s:4', { leaseMs: 10_000 })).status).toBe('claimed');
  });

  it('keeps the keys of the same message apart for two consumers', async () => {
    const { store } = await newStore();
    const a = await store.claim('billing:msg:orders:9', { leaseMs: 10_000 });
    const b = await store.claim('shipping:msg:orders:9', { leaseMs: 10_000 });
    expect([a.status, b.status]).toEqual(['claimed', 'claimed']);
  });

  it('claims a batch in one script call, in input order, duplicates inside the batch included', async () => {
    const { store } = await newStore();
    const done = await store.claim('c:msg:s:done', { leaseMs: 10_000 });
    if (done.status !== 'claimed') throw new Error('expected a claim');
    await store.complete('c:msg:s:done', done.token, { retentionMs: 60_000 });
    await store.claim('c:msg:s:held', { leaseMs: 10_000 });
    const callsBefore = store.stats().scriptCalls;
    const results = await store.claimMany(
      ['c:msg:s:new1', 'c:msg:s:done', 'c:msg:s:held', 'c:msg:s:new2', 'c:msg:s:new1'],
      { leaseMs: 10_000 },
    );
    expect(results.map((r) => r.status)).toEqual([
      'claimed',
      'done',
      'in-progress',
      'claimed',
      'in-progress',
    ]);
    expect(store.stats().scriptCalls - callsBefore).toBe(1);
  });

  it('coalesces 200 concurrent claims of one consumer into a handful of round trips', async () => {
    const { store } = await newStore();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.claim(`c:msg:s:${i}`, { leaseMs: 10_000 })),
    );
    expect(results.every((r) => r.status === 'claimed')).toBe(true);
    // Sent early in parts of sendAt (32 by default): 6 full parts, the last 8 at the turn's end.
    expect(store.stats().scriptCalls).toBe(7);
  });

  it('reloads its scripts after Redis forgets them (SCRIPT FLUSH)', async () => {
    const { store, client } = await newStore();
    await store.claim('c:msg:s:a', { leaseMs: 10_000 });
    await client.script('FLUSH');
    expect((await store.claim('c:msg:s:b', { leaseMs: 10_000 })).status).toBe('claimed');
  });

  it('refuses a foreign value under its prefix with a non-retryable RedisDedupeError naming the cause', async () => {
    const { store, client } = await newStore();
    await client.set(store.redisKeyOf('c:msg:s:x'), 'not a hash');
    const failure = await store.claim('c:msg:s:x', { leaseMs: 1000 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RedisDedupeError);
    expect((failure as Error).message).toMatch(/WRONGTYPE/);
  });
});

describe('version guard', () => {
  it('applies only newer versions and reports the applied one for older or equal versions', async () => {
    const { store } = await newStore();
    const key = 'c:entity:s:order-1';
    const v5 = await store.claim(key, { leaseMs: 10_000, version: 5 });
    if (v5.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.complete(key, v5.token, { retentionMs: 60_000, version: 5 })).toBe(true);
    expect(await store.claim(key, { leaseMs: 10_000, version: 5 })).toEqual({
      status: 'stale',
      appliedVersion: 5,
    });
    expect(await store.claim(key, { leaseMs: 10_000, version: 3 })).toEqual({
      status: 'stale',
      appliedVersion: 5,
    });
    const v6 = await store.claim(key, { leaseMs: 10_000, version: 6 });
    expect(v6.status).toBe('claimed');
    expect(store.stats().stale).toBe(2);
  });

  it('keeps the applied version through a released claim and an expired lease of a newer version', async () => {
    const { store } = await newStore();
    const key = 'c:entity:s:order-2';
    const v1 = await store.claim(key, { leaseMs: 10_000, version: 1 });
    if (v1.status !== 'claimed') throw new Error('expected a claim');
    await store.complete(key, v1.token, { retentionMs: 60_000, version: 1 });
    const v2 = await store.claim(key, { leaseMs: 100, version: 2 });
    if (v2.status !== 'claimed') throw new Error('expected a claim');
    expect(await store.release(key, v2.token)).toBe(true);
    expect(await store.claim(key, { leaseMs: 10_000, version: 1 })).toEqual({
      status: 'stale',
      appliedVersion: 1,
    });
    await store.claim(key, { leaseMs: 100, version: 2 }); // this claimant dies: its lease expires
    const taken = await eventually(async () => {
      const r = await store.claim(key, { leaseMs: 10_000, version: 2 });
      return r.status === 'in-progress' ? undefined : r;
    });
    expect(taken.status).toBe('claimed');
    expect(await store.claim(key, { leaseMs: 10_000, version: 1 })).toEqual({
      status: 'stale',
      appliedVersion: 1,
    });
  });

  it('keeps versions beyond 2^32 exact', async () => {
    const { store } = await newStore();
    const big = Number.MAX_SAFE_INTEGER - 1;
    const claim = await store.claim('c:entity:s:big', { leaseMs: 10_000, version: big });
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    await store.complete('c:entity:s:big', claim.token, { retentionMs: 60_000, version: big });
    expect(await store.claim('c:entity:s:big', { leaseMs: 10_000, version: big })).toEqual({
      status: 'stale',
      appliedVersion: big,
    });
    expect(
      (await store.claim('c:entity:s:big', { leaseMs: 10_000, version: big + 1 })).status,
    ).toBe('claimed');
  });

  it('under concurrency applies each version at most once and never an older one after a newer', async () => {
    const { prefix } = await useRedisPrefix('versions');
    const stores = await Promise.all(
      Array.from({ length: 4 }, async () =>
        createRedisIdempotencyStore({ client: await connect(), keyPrefix: prefix }),
      ),
    );
    const key = 'c:entity:s:order-3';
    const applied: number[] = [];
    // 4 consumers each try versions 1..40 in their own shuffled order; a claimed version is applied.
    await Promise.all(
      stores.map(async (store) => {
        const versions = Array.from({ length: 40 }, (_, i) => i + 1).sort(
          () => Math.random() - 0.5,
        );
        for (const version of versions) {
          const r = await store.claim(key, { leaseMs: 10_000, version });
          if (r.status !== 'claimed') continue;
          applied.push(version);
          await store.complete(key, r.token, { retentionMs: 60_000, version });
        }
      }),
    );
    expect(new Set(applied).size).toBe(applied.length);
    for (let i = 1; i < applied.length; i++) expect(applied[i]!).toBeGreaterThan(applied[i - 1]!);
    expect(applied.at(-1)).toBe(40);
  });
});

describe('when Redis is unreachable or slow', () => {
  const target = () => {
    const url = new URL(endpoints.redisUrl);
    return { host: url.hostname, port: Number(url.port || 6379) };
  };

  it('fails fast with UnavailableError while the connection is down, and works again after', async () => {
    const proxy = await startTcpProxy(target());
    try {
      const client = await connect({ host: '127.0.0.1', port: proxy.port });
      const { prefix } = await useRedisPrefix('down');
      const store = createRedisIdempotencyStore({ client, keyPrefix: prefix });
      await proxy.cut();
      const failure = await store.claim('c:msg:s:1', { leaseMs: 10_000 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UnavailableError);
      // Refused on the spot (client reconnecting, or ioredis's offline queue off), not timed out.
      expect((failure as Error).message).not.toMatch(/no answer within/);
      await proxy.restore();
      const claim = await eventually(() =>
        store.claim('c:msg:s:1', { leaseMs: 10_000 }).catch(() => undefined),
      );
      expect(claim.status).toBe('claimed');
    } finally {
      closeClients();
      await proxy.close();
    }
  });

  it('gives up on a Redis that accepts but never answers after timeoutMs, with UnavailableError', async () => {
    const proxy = await startTcpProxy(target());
    try {
      // The store's own timeoutMs is what ends the wait (the clients set no commandTimeout).
      const client = await connect({ host: '127.0.0.1', port: proxy.port });
      const { prefix } = await useRedisPrefix('slow');
      const store = createRedisIdempotencyStore({ client, keyPrefix: prefix, timeoutMs: 300 });
      proxy.stall();
      const failure = await store.claim('c:msg:s:1', { leaseMs: 10_000 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UnavailableError);
      expect((failure as Error).message).toMatch(/no answer within 300 ms/);
    } finally {
      closeClients();
      await proxy.close();
    }
  });
});

describe('a completion that arrives after its lease ended', () => {
  // Waits, on Redis's own clock, until the lease of `key` (field x, ms of server time) has passed.
  async function leaseOver(client: Redis, redisKey: string): Promise<void> {
    await eventually(async () => {
      const [seconds, micros] = await client.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const leaseEnd = await client.hget(redisKey, 'x');
      return leaseEnd === null || Number(leaseEnd) <= now ? true : undefined;
    });
  }

  it('is recorded when the key expired and nobody claimed it since, so a later duplicate is skipped', async () => {
    const { store, client } = await newStore();
    const key = 'c:msg:s:late-1';
    const claim = await store.claim(key, { leaseMs: 150 });
    if (claim.status !== 'claimed') throw new Error('expected a claim');
    // The slow handler outlives its lease; the key (a new one) expires with it.
    await eventually(async () => ((await client.exists(store.redisKeyOf(key))) ? undefined : true));
    expect(await store.complete(key, claim.token, { retentionMs: 60_000 })).toBe(true);
    expect(await client.hget(store.redisKeyOf(key), 's')).toBe('d');
    expect(await client.pttl(store.redisKeyOf(key))).toBeGreaterThan(50_000);
    expect(await store.claim(key, { leaseMs: 10_000 })).toEqual({ status: 'done' });
    expect(store.stats()).toMatchObject({ completed: 1, completionsLost: 0, duplicates: 1 });
  });

  it('is recorded when the lease of a kept versioned key ended and nobody claimed it since', async () => {
    const { store, client } = await newStore();
    const key = 'c:entity:s:late-2';
    const v1 = await store.claim(key, { leaseMs: 10_000, version: 1 });
    if (v1.status !== 'claimed') throw new Error('expected a claim');
    await store.complete(key, v1.token, { retentionMs: 60_000, version: 1 });
    const v2 = await store.claim(key, { leaseMs: 150, version: 2 });
    if (v2.status !== 'claimed') throw new Error('expected a claim');
    await leaseOver(client, store.redisKeyOf(key));
    expect(await store.complete(key, v2.token, { retentionMs: 60_000, version: 2 })).toBe(true);
    expect(await store.claim(key, { leaseMs: 10_000, version: 2 })).toEqual({
      status: 'stale',
      appliedVersion: 2,
    });
  });

  it('is still refused after a real takeover, and the version never goes backwards', async () => {
    const { store, client } = await newStore();
    const key = 'c:entity:s:late-3';
    const v2 = await store.claim(key, { leaseMs: 150, version: 2 });
    if (v2.status !== 'claimed') throw new Error('expected a claim');
    await leaseOver(client, store.redisKeyOf(key));
    const v3 = await store.claim(key, { leaseMs: 10_000, version: 3 });
    if (v3.status !== 'claimed') throw new Error('expected the newer version to take over');
    expect(await store.complete(key, v3.token, { retentionMs: 60_000, version: 3 })).toBe(true);
    expect(await store.complete(key, v2.token, { retentionMs: 60_000, version: 2 })).toBe(false);
    expect(await client.hget(store.redisKeyOf(key), 'v')).toBe('3');
    expect(store.stats().completionsLost).toBe(1);
  });
});

describe('a claim that Redis runs after the store gave up on it', () => {
  it('is released as soon as its late answer arrives, so the key is not held for the lease', async () => {
    const url = new URL(endpoints.redisUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 6379) });
    const inspector = await connect();
    try {
      const { prefix } = await useRedisPrefix('late-claim');
      const client = await connect({ host: '127.0.0.1', port: proxy.port });
      // Default timeoutMs (1000).
      const store = createRedisIdempotencyStore({ client, keyPrefix: prefix });
      const key = store.redisKeyOf('c:msg:s:late');
      proxy.dropReplies();
      const failure = await store.claim('c:msg:s:late', { leaseMs: 60_000 }).catch((e) => e);
      expect(failure).toBeInstanceOf(UnavailableError);
      // The claim ran: the key is held under a token its caller never learnt.
      expect(await inspector.hget(key, 's')).toBe('p');
      await proxy.cut(); // ioredis re-sends the unanswered claim after the reconnect
      await proxy.restore();
      await waitFor(async () => store.stats().lateClaimsReleased === 1, {
        idleMs: 10_000,
        description: 'the late claim released (its lease is 60 s)',
      });
      expect(await inspector.exists(key)).toBe(0);
      expect((await store.claim('c:msg:s:late', { leaseMs: 60_000 })).status).toBe('claimed');
    } finally {
      closeClients();
      await proxy.close();
    }
  });
});

describe('a busy event loop', () => {
  it('takes an answer that arrived while the loop was blocked instead of reporting a timeout', async () => {
    const { prefix } = await useRedisPrefix('busy');
    const client = await connect();
    const store = createRedisIdempotencyStore({ client, keyPrefix: prefix, timeoutMs: 50 });
    const pending = store.claim('c:msg:s:busy', { leaseMs: 10_000 });
    // Block the loop well past timeoutMs: Redis answers meanwhile, but the answer is only read
    // after the loop is free, and the expired timer runs before that read.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        const until = Date.now() + 400;
        while (Date.now() < until) {
          /* a handler hogging the CPU */
        }
        resolve();
      }),
    );
    const claim = await pending.catch((error: unknown) => error);
    expect(claim).toMatchObject({ status: 'claimed' });
    expect(store.stats().failures).toBe(0);
  });
});
