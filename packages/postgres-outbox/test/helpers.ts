// Shared set-up of the services tests: a unique schema with the outbox table, pools whose
// connections carry a known application_name (for terminatePostgresBackends), and small waits.
import {
  createInMemoryTransport,
  defineEvent,
  type OutgoingMessage,
  type Transport,
} from '@eda/core';
import { cleanupServices, type PostgresSchema, usePostgresSchema } from '@eda/test-services';
import pg from 'pg';
import { afterEach } from 'vitest';
import {
  createPostgresIdempotencyStore,
  ensureIdempotencySchema,
  ensureOutboxSchema,
  type PostgresOutboxStore,
} from '../src/index.js';

export const OrderPlaced = defineEvent<{ orderId: string; n: number }>({
  type: 'order.placed',
  owner: 'orders',
});

export interface TestDatabase {
  readonly schema: PostgresSchema;
  /** A pool on the schema, closed by `close()`. */
  pool(applicationName?: string, max?: number): pg.Pool;
  close(): Promise<void>;
}

/** A unique schema with the outbox table, and pools on it that are all ended by `close()`. */
export async function useDatabase(label = 'outbox'): Promise<TestDatabase> {
  const schema = await usePostgresSchema(label);
  const pools: pg.Pool[] = [];
  const pool = (applicationName = 'eda-test', max = 5) => {
    const created = new pg.Pool({ ...schema.clientConfig(applicationName), max });
    // A terminated backend makes idle pool clients emit errors; the pool drops them itself.
    created.on('error', () => undefined);
    pools.push(created);
    return created;
  };
  await ensureOutboxSchema(pool(), { schema: schema.name });
  return {
    schema,
    pool,
    async close() {
      await Promise.all(pools.map((p) => p.end()));
    },
  };
}

/**
 * The database and stores of the current test, closed after each test. Call once at the top of
 * a test file.
 */
export function useTestScope() {
  let db: TestDatabase | undefined;
  const stores: PostgresOutboxStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await db?.close();
    db = undefined;
    await cleanupServices();
  });
  return {
    /** Opens this test's database (a unique schema with the outbox table). */
    async open(label?: string): Promise<TestDatabase> {
      db = await useDatabase(label);
      return db;
    },
    /** The database `open` gave this test. */
    get db(): TestDatabase {
      if (!db) throw new Error('open() the test database first');
      return db;
    },
    /** Closes `store` after the test; returns it. */
    track<T extends PostgresOutboxStore>(store: T): T {
      stores.push(store);
      return store;
    },
  };
}

/**
 * For a file of idempotency-store tests: returns `setup`, which opens this test's database and
 * gives a store on its own schema (closed after each test). Call once at the top of the file.
 */
export function useIdempotencyStoreScope(label: string, poolSize: number) {
  const scope = useTestScope();
  return async () => {
    const db = await scope.open(label);
    const pool = db.pool(`eda-${label}`, poolSize);
    await ensureIdempotencySchema(pool, { schema: db.schema.name });
    return { pool, store: createPostgresIdempotencyStore({ pool, schema: db.schema.name }) };
  };
}

/** Waits until `condition` holds, re-checking every 20 ms. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A transport that records what it was asked to publish, in order, and can be made to fail. */
export interface RecordingTransport extends Transport {
  readonly published: OutgoingMessage[];
  /** Decides per call whether to throw (default: never). */
  failWhen: (messages: readonly OutgoingMessage[]) => boolean;
  /** Runs before each publish resolves. */
  beforeAck: (messages: readonly OutgoingMessage[]) => Promise<void>;
}

export function recordingTransport(): RecordingTransport {
  const inner = createInMemoryTransport();
  const transport: RecordingTransport = {
    ...inner,
    name: 'recording',
    published: [],
    failWhen: () => false,
    beforeAck: async () => undefined,
    async publish(messages) {
      if (transport.failWhen(messages)) throw new Error('broker refused the batch');
      await transport.beforeAck(messages);
      transport.published.push(...messages);
    },
    async send(messages) {
      await transport.publish(messages);
    },
  };
  return transport;
}

/** Data of a published message (JSON). */
export function dataOf(message: OutgoingMessage): { orderId: string; n: number } {
  return JSON.parse(Buffer.from(message.body).toString('utf8'));
}
