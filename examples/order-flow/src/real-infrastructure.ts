// The same services on real infrastructure, chosen by configuration only: events on Kafka (a
// partitioned log), commands on RabbitMQ (owned queues), the outbox on PostgreSQL, dedupe on
// Redis or a PostgreSQL inbox, invoices on S3. Endpoints come from the EDA_* variables
// (scripts/services/README.md).
import { S3Client } from '@aws-sdk/client-s3';
import {
  type BusObserver,
  createCompositeTransport,
  type EventStore,
  type IdempotencyStore,
  type OutboxRelayObserver,
} from '@eda/core';
import { createKafkaTransport, type KafkaTransport, type KafkaTransportOptions } from '@eda/kafka';
import {
  createPostgresEventStore,
  createPostgresInbox,
  createPostgresOutboxStore,
  currentInboxTransaction,
  ensureEventStoreSchema,
  ensureInboxSchema,
  ensureOutboxSchema,
  type PostgresOutboxStore,
  withTransaction,
} from '@eda/postgres-outbox';
import {
  createRabbitMqTransport,
  type RabbitMqTransport,
  type RabbitMqTransportOptions,
} from '@eda/rabbitmq';
import { createRedisIdempotencyStore } from '@eda/redis-dedupe';
import { createS3PayloadStore } from '@eda/s3-claimcheck';
import { readEndpoints, type ServiceEndpoints } from '@eda/test-services';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createOrderTracker, type Infrastructure } from './infrastructure.js';
import { createPostgresLedger, ledgerSchemaSql } from './postgres-ledger.js';

export interface RealInfrastructureOptions {
  /** Prefix of every topic, queue, schema, key and object, so runs do not see each other's messages. @default 'order-flow' */
  readonly namespace?: string;
  /**
   * `redis`: the Redis idempotency store (fast, shared; a consumer killed between its effect and
   * the completion may apply it twice). `inbox`: a PostgreSQL inbox row committed in the same
   * transaction as the handler's ledger row (an effect is applied exactly once).
   * @default 'redis'
   */
  readonly dedupe?: 'redis' | 'inbox';
  /** False for a process that only writes to the outbox: it opens no broker connection. @default true */
  readonly transport?: boolean;
  /** Create the tables (outbox, inbox, ledger) first. A process set does it once, before its processes start. @default true */
  readonly prepareSchema?: boolean;
  /** Messages each consumer handles at once. @default 1 */
  readonly consumerConcurrency?: number;
  /** Told about everything every bus does, besides the workflow tracker. */
  readonly observers?: readonly BusObserver[];
  /** Told what the outbox relay published (the workflow monitor's reporter). */
  readonly relayObservers?: readonly OutboxRelayObserver[];
  /**
   * Told about connection trouble the adapters handle by themselves (a lost RabbitMQ or
   * PostgreSQL connection, being reconnected; a Kafka commit that failed and is tried again).
   * @default the adapters' defaults (RabbitMQ and Kafka here: silent; PostgreSQL: a console warning)
   */
  readonly onError?: (error: unknown) => void;
}

/** The real infrastructure, with the adapters' own handles for monitoring (see system-idle.ts). */
export interface RealInfrastructure extends Infrastructure {
  readonly namespace: string;
  /** PostgreSQL schema of the outbox, inbox and ledger tables. */
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly outbox: PostgresOutboxStore;
  readonly events?: KafkaTransport;
  readonly commands?: RabbitMqTransport;
}

/** The PostgreSQL schema of a namespace (letters, digits and `_` only). */
export const schemaOf = (namespace: string) => namespace.replaceAll(/[^a-z0-9_]/g, '_');

/** Inventory's stock streams (services/stock.ts), beside the outbox their translation writes to. */
const STOCK_EVENTS_TABLE = 'stock_events';

/** Creates the outbox, inbox, event store and ledger tables of `namespace` if missing (a migration). */
export async function prepareSchema(pool: pg.Pool, namespace: string): Promise<void> {
  const schema = schemaOf(namespace);
  await ensureOutboxSchema(pool, { schema, table: 'outbox' });
  await ensureEventStoreSchema(pool, { schema, table: STOCK_EVENTS_TABLE });
  await ensureInboxSchema(pool, { schema, table: 'inbox' });
  await pool.query(ledgerSchemaSql(schema));
}

/**
 * The options of `namespace`'s transports (Kafka for events, RabbitMQ for commands), also what
 * their dead-letter admins take so that they name topics and queues the same way.
 */
export function realTransportOptions(
  namespace: string,
  onError?: (error: unknown) => void,
  endpoints: ServiceEndpoints = readEndpoints(),
): { readonly kafka: KafkaTransportOptions; readonly rabbitMq: RabbitMqTransportOptions } {
  const prefix = `${namespace}.`;
  const kafka: KafkaTransportOptions = {
    brokers: endpoints.kafkaBrokers,
    topicPrefix: prefix,
    logLevel: 'nothing',
    topics: { partitions: 3 },
    // With logLevel 'nothing' the Kafka transport's own default is silence: a failed commit
    // or a consumer crash would leave no trace in a process's output.
    ...(onError ? { onError } : {}),
  };
  const rabbitMq: RabbitMqTransportOptions = {
    url: endpoints.amqpUrl,
    exchange: `${prefix}events`,
    queueFor: (type) => `${prefix}${type}`,
    subscriptionQueueFor: (name) => `${prefix}${name}`,
    deadLetterQueueFor: (name) => `${prefix}${name}.dead-letter`,
    ...(onError ? { onError } : {}),
  };
  return { kafka, rabbitMq };
}

/** The transports of `namespace`: Kafka for events, RabbitMQ for commands. */
export function createRealTransports(
  namespace: string,
  onError?: (error: unknown) => void,
  endpoints: ServiceEndpoints = readEndpoints(),
) {
  const options = realTransportOptions(namespace, onError, endpoints);
  return {
    events: createKafkaTransport(options.kafka),
    commands: createRabbitMqTransport(options.rabbitMq),
  };
}

async function connectRedis(url: string, connectionName: string): Promise<Redis> {
  const redis = new Redis(url, {
    // CLIENT LIST shows which run a connection belongs to (the crash run drops its own by name).
    connectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // No commandTimeout: the dedupe store bounds each call by its own timeoutMs, and reads an
    // answer that a busy event loop left waiting before it gives up; ioredis's timer would not.
  });
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('error', reject);
  });
  return redis;
}

export async function createRealInfrastructure(
  options: RealInfrastructureOptions = {},
): Promise<RealInfrastructure> {
  const {
    namespace = 'order-flow',
    dedupe = 'redis',
    transport: withTransport = true,
    prepareSchema: prepare = true,
    observers = [],
    relayObservers,
    onError,
    consumerConcurrency,
  } = options;
  const reportTo = onError ? { onError } : {};
  const endpoints = readEndpoints();
  const schema = schemaOf(namespace);
  const pool = new pg.Pool({ connectionString: endpoints.postgresUrl, max: 5 });
  if (prepare) await prepareSchema(pool, namespace);
  const outbox = createPostgresOutboxStore({ pool, schema, table: 'outbox', ...reportTo });
  // Inventory reads and appends its stock streams in its handler's transaction (one connection).
  const eventStore = createPostgresEventStore({
    pool,
    schema,
    table: STOCK_EVENTS_TABLE,
    ...reportTo,
  });
  const transports = withTransport ? createRealTransports(namespace, onError) : undefined;
  const redis = dedupe === 'redis' ? await connectRedis(endpoints.redisUrl, namespace) : undefined;
  const idempotency: IdempotencyStore | undefined =
    redis && createRedisIdempotencyStore({ client: redis, keyPrefix: `${namespace}:dedupe:` });
  const s3 = new S3Client({
    endpoint: endpoints.s3.endpoint,
    region: endpoints.s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: endpoints.s3.accessKeyId,
      secretAccessKey: endpoints.s3.secretAccessKey,
    },
  });
  const tracker = createOrderTracker();
  const transport = transports && createCompositeTransport(transports);
  return {
    description: `real (Kafka events, RabbitMQ commands, PostgreSQL outbox, ${dedupe === 'redis' ? 'Redis dedupe' : 'PostgreSQL inbox'}, S3 claim check)`,
    namespace,
    schema,
    pool,
    ...(transport ? { transport, ...transports } : {}),
    outbox,
    eventStore: eventStore as EventStore<unknown>,
    ...(consumerConcurrency ? { consumerConcurrency } : {}),
    transaction: (fn) => withTransaction(pool, fn),
    handlerTransaction: (fn) => {
      const transaction = idempotency ? undefined : currentInboxTransaction();
      return transaction ? fn(transaction) : withTransaction(pool, fn);
    },
    dedupe: idempotency
      ? { idempotency: { store: idempotency } }
      : {
          middleware: [
            createPostgresInbox({ pool, schema, table: 'inbox', ...reportTo }).middleware,
          ],
        },
    payloads: createS3PayloadStore({
      client: s3,
      bucket: endpoints.s3.bucket,
      prefix: `${namespace}/`,
    }),
    ledger: createPostgresLedger(pool, schema),
    tracker,
    observers: [tracker.observe, ...observers],
    ...(relayObservers ? { relayObservers } : {}),
    async close() {
      await transport?.close();
      await outbox.close();
      await eventStore.close();
      await pool.end();
      redis?.disconnect();
      s3.destroy();
    },
  };
}
