// Checks that need no Redis: option validation, key mapping, coalescing and error mapping.
import { ConfigurationError, type EdaError, UnavailableError } from '@eda/core';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createCoalescer } from '../src/coalescer.js';
import { createRedisIdempotencyStore, RedisDedupeError, toRedisKey } from '../src/index.js';
import { toStoreError } from '../src/store-errors.js';

// A stand-in that records calls: enough to check validation and batching without a server.
function fakeClient(status = 'ready') {
  const calls: { keys: string[]; args: unknown[] }[] = [];
  const client = {
    status,
    async evalsha(_sha: string, numKeys: number, ...rest: unknown[]) {
      const keys = rest.slice(0, numKeys) as string[];
      calls.push({ keys, args: rest.slice(numKeys) });
      return keys.map(() => 'c');
    },
    async eval() {
      throw new Error('not used');
    },
  };
  return { client: client as unknown as Redis, calls };
}

describe('createRedisIdempotencyStore options', () => {
  it('rejects a missing client, naming the adapter and what to pass', () => {
    expect(() => createRedisIdempotencyStore({} as never)).toThrow(ConfigurationError);
    expect(() => createRedisIdempotencyStore({} as never)).toThrow(
      /createRedisIdempotencyStore needs an ioredis client/,
    );
  });

  it('rejects a key prefix with braces, a bad timeout, window and batch size', () => {
    const { client } = fakeClient();
    expect(() => createRedisIdempotencyStore({ client, keyPrefix: 'a{b}:' })).toThrow(
      /keyPrefix "a\{b\}:" must be a string without/,
    );
    expect(() => createRedisIdempotencyStore({ client, timeoutMs: 0 })).toThrow(/timeoutMs is 0/);
    expect(() => createRedisIdempotencyStore({ client, batchWindowMs: -1 })).toThrow(
      /batchWindowMs is -1/,
    );
    expect(() => createRedisIdempotencyStore({ client, maxBatchSize: 0 })).toThrow(
      /maxBatchSize is 0/,
    );
  });

  it('rejects invalid keys, leases, retention and versions per call without calling Redis', async () => {
    const { client, calls } = fakeClient();
    const store = createRedisIdempotencyStore({ client });
    await expect(store.claim('', { leaseMs: 10 })).rejects.toThrow(/key "" is not a non-empty/);
    await expect(store.claim('k', { leaseMs: 0 })).rejects.toThrow(/leaseMs is 0/);
    await expect(store.claim('k', { leaseMs: 1.5 })).rejects.toThrow(/leaseMs is 1.5/);
    await expect(store.claim('k', { leaseMs: 10, version: -1 })).rejects.toThrow(
      /entity version -1/,
    );
    await expect(store.complete('k', 't', { retentionMs: Number.NaN })).rejects.toThrow(
      /retentionMs is NaN/,
    );
    await expect(store.release('k', '')).rejects.toThrow(/needs the token/);
    expect(calls).toHaveLength(0);
  });

  it('fails fast with UnavailableError while the client is reconnecting, without sending', async () => {
    const { client, calls } = fakeClient('reconnecting');
    const store = createRedisIdempotencyStore({ client });
    const failure = await store.claim('sub:msg:s:1', { leaseMs: 1000 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnavailableError);
    expect((failure as Error).message).toMatch(/client is reconnecting/);
    expect(calls).toHaveLength(0);
    expect(store.stats().failures).toBe(1);
  });
});

describe('keys', () => {
  it('puts the consumer (the part before the first colon) in a hash tag after the prefix', () => {
    expect(toRedisKey('eda:dedupe:', 'billing:msg:orders:42')).toEqual({
      key: 'eda:dedupe:{billing}:msg:orders:42',
      tag: 'billing',
    });
    expect(toRedisKey('p:', 'no-colon')).toEqual({ key: 'p:{no-colon}', tag: 'no-colon' });
    expect(toRedisKey('p:', ':leading')).toEqual({ key: 'p:{:leading}', tag: ':leading' });
  });

  it('gives every key of one consumer the same Redis hash-tag text, whatever its name holds', () => {
    // Redis hashes the text between the first "{" and the next "}" (the cluster spec's rule).
    const hashed = (key: string) => {
      const open = key.indexOf('{');
      const close = key.indexOf('}', open + 1);
      return close > open + 1 ? key.slice(open + 1, close) : key;
    };
    for (const consumer of ['billing', 'we}ird', 'a{b', 'x}{y']) {
      const tags = ['msg:s:1', 'msg:s:2', 'entity:s:order-9'].map((rest) =>
        hashed(toRedisKey('eda:dedupe:', `${consumer}:${rest}`).key),
      );
      expect(new Set(tags).size).toBe(1);
    }
  });

  it('namespaces the same message per consumer', async () => {
    const { client } = fakeClient();
    const store = createRedisIdempotencyStore({ client });
    expect(store.redisKeyOf('a:msg:s:1')).not.toBe(store.redisKeyOf('b:msg:s:1'));
  });
});

describe('coalescing', () => {
  it('sends the claims of one event-loop turn as one script call per consumer and lease', async () => {
    const { client, calls } = fakeClient();
    const store = createRedisIdempotencyStore({ client });
    const results = await Promise.all([
      store.claim('a:msg:s:1', { leaseMs: 1000 }),
      store.claim('a:msg:s:2', { leaseMs: 1000 }),
      store.claim('b:msg:s:1', { leaseMs: 1000 }),
      store.claim('a:msg:s:3', { leaseMs: 2000 }),
      store.claim('a:entity:s:e', { leaseMs: 1000, version: 7 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'claimed',
      'claimed',
      'claimed',
      'claimed',
      'claimed',
    ]);
    const tokens = results.map((r) => (r.status === 'claimed' ? r.token : ''));
    expect(new Set(tokens).size).toBe(5);
    expect(calls.map((c) => c.keys.length).sort()).toEqual([1, 1, 3]);
    const batch = calls.find((c) => c.keys.length === 3)!;
    expect(batch.args.slice(2)).toEqual(['', '', '7']);
    expect(store.stats().scriptCalls).toBe(3);
  });

  it('sends a full batch at once and splits claimMany by consumer and maxBatchSize', async () => {
    const { client, calls } = fakeClient();
    const store = createRedisIdempotencyStore({ client, maxBatchSize: 2 });
    const keys = ['a:1', 'a:2', 'a:3', 'b:1'];
    const results = await store.claimMany(keys, { leaseMs: 1000 });
    expect(results).toHaveLength(4);
    expect(calls.map((c) => c.keys)).toEqual([
      ['eda:dedupe:{a}:1', 'eda:dedupe:{a}:2'],
      ['eda:dedupe:{a}:3'],
      ['eda:dedupe:{b}:1'],
    ]);
    // Coalesced claims: a group is sent as soon as it is full, sendAt (32 by default) being
    // capped at maxBatchSize.
    calls.length = 0;
    const claimed = await Promise.all(
      ['a:4', 'a:5', 'a:6', 'a:7', 'a:8'].map((key) => store.claim(key, { leaseMs: 1000 })),
    );
    expect(claimed.every((r) => r.status === 'claimed')).toBe(true);
    expect(calls.map((c) => c.keys.length)).toEqual([2, 2, 1]);
  });

  it('splits a batch into splitBatches calls of at least 8 keys, results in order', async () => {
    const { client, calls } = fakeClient();
    const store = createRedisIdempotencyStore({ client, splitBatches: 3, sendAt: 256 });
    const claimAll = (n: number, from: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) => store.claim(`a:msg:s:${from + i}`, { leaseMs: 1000 })),
      );
    const results = await claimAll(30, 0);
    expect(results.every((r) => r.status === 'claimed')).toBe(true);
    expect(calls.map((c) => c.keys.length)).toEqual([10, 10, 10]);
    expect(calls.flatMap((c) => c.keys)).toEqual(
      Array.from({ length: 30 }, (_, i) => `eda:dedupe:{a}:msg:s:${i}`),
    );
    calls.length = 0;
    // Too few keys for two calls of 8: sent as one.
    await claimAll(15, 100);
    expect(calls.map((c) => c.keys.length)).toEqual([15]);
    expect(() => createRedisIdempotencyStore({ client, splitBatches: 0 })).toThrow(
      /splitBatches is 0/,
    );
  });

  it('sends a burst early in parts of sendAt, the rest at the end of the turn, results in order', async () => {
    const { client, calls } = fakeClient();
    const store = createRedisIdempotencyStore({ client, sendAt: 4 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.claim(`a:msg:s:${i}`, { leaseMs: 1000 })),
    );
    expect(results.every((r) => r.status === 'claimed')).toBe(true);
    expect(calls.map((c) => c.keys.length)).toEqual([4, 4, 2]);
    expect(calls.flatMap((c) => c.keys)).toEqual(
      Array.from({ length: 10 }, (_, i) => `eda:dedupe:{a}:msg:s:${i}`),
    );
    expect(() => createRedisIdempotencyStore({ client, sendAt: 0 })).toThrow(/sendAt is 0/);
  });

  it('rejects every waiter of a failed call and keeps working afterwards', async () => {
    let fail = true;
    const coalescer = createCoalescer<number, number>({
      maxBatchSize: 10,
      windowMs: 0,
      flush: async (_group, items) => {
        if (fail) throw new Error('down');
        return items.map((n) => n * 2);
      },
    });
    const failed = await Promise.allSettled([coalescer.add('g', 1), coalescer.add('g', 2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await Promise.all([coalescer.add('g', 3), coalescer.add('h', 4)])).toEqual([6, 8]);
  });
});

describe('error mapping', () => {
  it('turns connection trouble into UnavailableError and refusals into RedisDedupeError', () => {
    expect(toStoreError(new Error('Connection is closed.'), 'x')).toBeInstanceOf(UnavailableError);
    const wrongType = Object.assign(new Error('WRONGTYPE Operation against a key'), {
      name: 'ReplyError',
    });
    const refused = toStoreError(wrongType, 'the claim');
    expect(refused).toBeInstanceOf(RedisDedupeError);
    expect((refused as EdaError).retryable).toBe(false);
    const loading = Object.assign(new Error('LOADING Redis is loading'), { name: 'ReplyError' });
    expect(toStoreError(loading, 'x')).toBeInstanceOf(UnavailableError);
  });
});

describe('timeouts', () => {
  it('rejects claims that get no answer within timeoutMs, and resolves those that do', async () => {
    let hang = true;
    const client = {
      status: 'ready',
      evalsha: (_sha: string, numKeys: number) =>
        hang ? new Promise(() => undefined) : Promise.resolve(Array(numKeys).fill('c')),
      eval: async () => {
        throw new Error('not used');
      },
    } as unknown as Redis;
    const store = createRedisIdempotencyStore({ client, timeoutMs: 30, coalesce: false });
    const lost = store.claim('a:msg:s:1', { leaseMs: 1000 });
    hang = false;
    expect((await store.claim('a:msg:s:2', { leaseMs: 1000 })).status).toBe('claimed');
    await expect(lost).rejects.toBeInstanceOf(UnavailableError);
    await expect(lost).rejects.toThrow(/got no answer within 30 ms/);
    expect(store.stats()).toMatchObject({ claimed: 1, failures: 1, scriptCalls: 2 });
  });
});
