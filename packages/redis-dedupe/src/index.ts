export {
  createRedisIdempotencyStore,
  type RedisDedupeStats,
  type RedisIdempotencyStore,
  type RedisIdempotencyStoreOptions,
} from './redis-idempotency-store.js';
export { type RedisKey, toRedisKey } from './redis-key.js';
export type { RedisClient } from './run-script.js';
export { RedisDedupeError } from './store-errors.js';
