// The shared idempotency store contract (@eda/test-suite) against the real Redis.
import { useRedisPrefix } from '@eda/test-services';
import { describeIdempotencyStoreContract } from '@eda/test-suite';
import type { Redis } from 'ioredis';
import { createRedisIdempotencyStore } from '../src/index.js';
import { connect } from './support/clients.js';

// The second run splits coalesced batches (splitBatches), which must not change any outcome.
for (const [name, options] of [
  ['redis (ioredis, standalone)', {}],
  ['redis (ioredis, standalone, splitBatches 2)', { splitBatches: 2 }],
] as const)
  describeIdempotencyStoreContract(name, {
    capabilities: { leases: true, versionGuard: true, retention: true, persistent: true },
    hooks: ['restart'],
    async createEnvironment() {
      const keys = await useRedisPrefix('contract');
      const clients: Redis[] = [await connect()];
      const open = (client: Redis) =>
        createRedisIdempotencyStore({ client, keyPrefix: keys.prefix, ...options });
      return {
        store: open(clients[0]!),
        // A restart of the consumer process: a new connection and store over the same keys.
        async restart() {
          const client = await connect();
          clients.push(client);
          return open(client);
        },
        async cleanup() {
          await keys.cleanup();
          for (const client of clients) client.disconnect();
        },
      };
    },
  });
