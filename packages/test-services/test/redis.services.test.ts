// ioredis against Redis: unique key prefixes, and the restart hook.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupServices, createRedis, restartRedis, useRedisPrefix } from '../src/index.js';

afterEach(cleanupServices);

describe('Redis with ioredis', () => {
  it('sets and gets under a unique prefix; cleanup deletes exactly those keys', async () => {
    const keys = await useRedisPrefix();
    const other = await useRedisPrefix();
    const redis = createRedis();
    try {
      await redis.set(keys.key('order', '1'), 'paid', 'EX', 60);
      const bulk = redis.pipeline();
      for (let i = 0; i < 1500; i++) bulk.set(keys.key('bulk', String(i)), String(i));
      await bulk.exec();
      await redis.set(other.key('kept'), 'yes');
      expect(await redis.get(keys.key('order', '1'))).toBe('paid');

      await keys.cleanup();
      expect(
        await redis.exists(keys.key('order', '1'), keys.key('bulk', '0'), keys.key('bulk', '1499')),
      ).toBe(0);
      expect(await redis.get(other.key('kept'))).toBe('yes');
    } finally {
      await redis.quit();
    }
  });

  it('restartRedis drops connections and data; the server answers afterwards', async () => {
    const keys = await useRedisPrefix();
    // No reconnects, so the client shows the server going away.
    const before = createRedis({ retryStrategy: () => null, maxRetriesPerRequest: 0 });
    before.on('error', () => {});
    await before.set(keys.key('lost'), 'soon');
    const ended = new Promise<void>((resolve) => before.once('end', resolve));

    await restartRedis();
    await ended;
    expect(before.status).toBe('end');

    const after = createRedis();
    try {
      expect(await after.ping()).toBe('PONG');
      // Redis keeps nothing on disk here, so a real restart loses the key.
      expect(await after.get(keys.key('lost'))).toBeNull();
      await after.set(keys.key('new'), 'ok');
      expect(await after.get(keys.key('new'))).toBe('ok');
    } finally {
      await after.quit();
    }
  });
});
