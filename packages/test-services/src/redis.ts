// Redis for tests: unique key prefixes whose keys are deleted afterwards.
import { Redis, type RedisOptions } from 'ioredis';
import { type Cleanable, registerCleanup } from './cleanup.js';
import { endpoints } from './endpoints.js';
import { uniqueName } from './unique-name.js';

/**
 * Opens an ioredis connection to `EDA_REDIS_URL`. The caller closes it (`quit()`).
 *
 * @param options - ioredis options (`replyMapping` is left out: it changes the reply types).
 */
export function createRedis(options: Omit<RedisOptions, 'replyMapping'> = {}): Redis {
  return new Redis(endpoints.redisUrl, options);
}

/** A key prefix made for one test; cleanup deletes every key that starts with it. */
export interface RedisPrefix extends Cleanable {
  /** Such as `eda-test-mb2x1k-3f9a6c:`. */
  readonly prefix: string;
  /** The prefix followed by the parts joined with `:`. */
  key(...parts: string[]): string;
}

/**
 * Hands out a unique key prefix. Cleanup finds the keys with SCAN (never KEYS, which blocks the
 * server) and unlinks them.
 *
 * @example
 * afterEach(cleanupServices);
 * const keys = await useRedisPrefix();
 * await redis.set(keys.key('order', '1'), 'paid');
 */
export async function useRedisPrefix(label = 'test'): Promise<RedisPrefix> {
  const prefix = `${uniqueName(label)}:`;
  const cleanable = registerCleanup(async () => {
    const redis = createRedis();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      await redis.quit();
    }
  });
  return {
    prefix,
    key: (...parts) => prefix + parts.join(':'),
    cleanup: cleanable.cleanup,
  };
}
