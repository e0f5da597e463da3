// The contract suites of @eda/test-suite against real PostgreSQL.

import { usePostgresSchema } from '@eda/test-services';
import { describeIdempotencyStoreContract, describeOutboxStoreContract } from '@eda/test-suite';
import pg from 'pg';
import {
  createPostgresIdempotencyStore,
  createPostgresOutboxStore,
  ensureIdempotencySchema,
  ensureOutboxSchema,
  type PostgresOutboxStore,
  type SqlTransaction,
} from '../src/index.js';

function describeOutboxContract(name: string, claimMode: 'lease' | 'lock') {
  describeOutboxStoreContract<SqlTransaction>(name, {
    capabilities: {
      concurrentRelays: true,
      orderedPerAggregate: true,
      notifications: true,
      persistent: true,
    },
    hooks: ['otherStore'],
    async createEnvironment() {
      const schema = await usePostgresSchema('outbox_contract');
      const pools: pg.Pool[] = [];
      const stores: PostgresOutboxStore[] = [];
      const open = () => {
        const pool = new pg.Pool({ ...schema.clientConfig('eda-outbox-contract'), max: 4 });
        pool.on('error', () => undefined);
        pools.push(pool);
        const store = createPostgresOutboxStore({ pool, schema: schema.name, claimMode });
        stores.push(store);
        return { pool, store };
      };
      const main = open();
      await ensureOutboxSchema(main.pool, { schema: schema.name });
      return {
        store: main.store,
        async begin() {
          const client = await main.pool.connect();
          await client.query('begin');
          let released = false;
          const finish = async (sql: string) => {
            if (released) return;
            released = true;
            try {
              await client.query(sql);
            } finally {
              client.release();
            }
          };
          return {
            transaction: client,
            commit: () => finish('commit'),
            rollback: () => finish('rollback'),
          };
        },
        async otherStore() {
          return open().store;
        },
        async cleanup() {
          await Promise.all(stores.map((s) => s.close()));
          await Promise.all(pools.map((p) => p.end()));
          await schema.cleanup();
        },
      };
    },
  });
}

describeOutboxContract('postgres-outbox', 'lease');
// The opt-in claim mode that holds row locks in an open transaction instead of writing leases.
describeOutboxContract('postgres-outbox (claimMode lock)', 'lock');

describeIdempotencyStoreContract('postgres-idempotency', {
  capabilities: { leases: true, versionGuard: true, retention: true, persistent: true },
  hooks: ['restart'],
  async createEnvironment() {
    const schema = await usePostgresSchema('idempotency_contract');
    const pools: pg.Pool[] = [];
    const open = () => {
      const pool = new pg.Pool({ ...schema.clientConfig('eda-idempotency-contract'), max: 10 });
      pool.on('error', () => undefined);
      pools.push(pool);
      return { pool, store: createPostgresIdempotencyStore({ pool, schema: schema.name }) };
    };
    const main = open();
    await ensureIdempotencySchema(main.pool, { schema: schema.name });
    return {
      store: main.store,
      // A new client process: a new pool and store over the same table.
      async restart() {
        return open().store;
      },
      async cleanup() {
        await Promise.all(pools.map((p) => p.end()));
        await schema.cleanup();
      },
    };
  },
});
