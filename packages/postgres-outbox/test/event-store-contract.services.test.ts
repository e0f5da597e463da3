// The event store contract of @eda/test-suite against real PostgreSQL: the event store and the
// outbox in one schema, so the combined commit writes both tables in one transaction.
import { usePostgresSchema } from '@eda/test-services';
import { describeEventStoreContract } from '@eda/test-suite';
import pg from 'pg';
import {
  createPostgresEventStore,
  createPostgresOutboxStore,
  ensureEventStoreSchema,
  ensureOutboxSchema,
  type SqlTransaction,
} from '../src/index.js';

describeEventStoreContract<SqlTransaction>('postgres-event-store', {
  capabilities: { persistent: true },
  // The commit-order fence is server-wide: another session's open transaction (the rest of a
  // full test run) holds readAll back until it ends, so allow for a slow neighbour.
  idleMs: 15_000,
  async createEnvironment() {
    const schema = await usePostgresSchema('event_store_contract');
    // Room for the concurrent-appends case: six writers, the reader, and the loser's lookup.
    const pool = new pg.Pool({ ...schema.clientConfig('eda-event-store-contract'), max: 10 });
    pool.on('error', () => undefined);
    await ensureEventStoreSchema(pool, { schema: schema.name });
    await ensureOutboxSchema(pool, { schema: schema.name });
    const store = createPostgresEventStore({ pool, schema: schema.name });
    const outbox = createPostgresOutboxStore({ pool, schema: schema.name, notifications: false });
    return {
      store,
      outbox,
      async cleanup() {
        await store.close();
        await outbox.close();
        await pool.end();
        await schema.cleanup();
      },
    };
  },
});
