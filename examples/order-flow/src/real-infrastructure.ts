// The same services on real infrastructure, chosen by configuration only: events on Kafka (a
// partitioned log), commands on RabbitMQ (owned queues), the outbox on PostgreSQL, dedupe on
// Redis, invoices on S3. Endpoints come from the EDA_* variables (scripts/services/README.md).
import { S3Client } from '@aws-sdk/client-s3';
import { createCompositeTransport } from '@eda/core';
import { createKafkaTransport } from '@eda/kafka';
import {
  createPostgresOutboxStore,
  ensureOutboxSchema,
  withTransaction,
} from '@eda/postgres-outbox';
import { createRabbitMqTransport } from '@eda/rabbitmq';
import { createRedisIdempotencyStore } from '@eda/redis-dedupe';
import { createS3PayloadStore } from '@eda/s3-claimcheck';
import { readEndpoints } from '@eda/test-services';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createOrderTracker, type Infrastructure } from './infrastructure.js';

/** Names everything after `namespace`, so runs and tests do not see each other's messages. */
export async function createRealInfrastructure(namespace = 'order-flow'): Promise<Infrastructure> {
  const endpoints = readEndpoints();
  const prefix = `${namespace}.`;
  const events = createKafkaTransport({
    brokers: endpoints.kafkaBrokers,
    topicPrefix: prefix,
    logLevel: 'nothing',
    topics: { partitions: 3 },
  });
  const commands = createRabbitMqTransport({
    url: endpoints.amqpUrl,
    exchange: `${prefix}events`,
    queueFor: (type) => `${prefix}${type}`,
    subscriptionQueueFor: (name) => `${prefix}${name}`,
    deadLetterQueueFor: (name) => `${prefix}${name}.dead-letter`,
  });
  const pool = new pg.Pool({ connectionString: endpoints.postgresUrl, max: 5 });
  const table = { schema: namespace.replaceAll(/[^a-z0-9_]/g, '_'), table: 'outbox' };
  await ensureOutboxSchema(pool, table);
  const outbox = createPostgresOutboxStore({ pool, ...table });
  const redis = new Redis(endpoints.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // No commandTimeout: the dedupe store bounds each call by its own timeoutMs, and reads an
    // answer that a busy event loop left waiting before it gives up; ioredis's timer would not.
  });
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('error', reject);
  });
  const s3 = new S3Client({
    endpoint: endpoints.s3.endpoint,
    region: endpoints.s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: endpoints.s3.accessKeyId,
      secretAccessKey: endpoints.s3.secretAccessKey,
    },
  });
  const transport = createCompositeTransport({ events, commands });
  return {
    description:
      'real (Kafka events, RabbitMQ commands, PostgreSQL outbox, Redis dedupe, S3 claim check)',
    transport,
    outbox,
    transaction: (fn) => withTransaction(pool, fn),
    idempotency: createRedisIdempotencyStore({ client: redis, keyPrefix: `${namespace}:dedupe:` }),
    payloads: createS3PayloadStore({
      client: s3,
      bucket: endpoints.s3.bucket,
      prefix: `${namespace}/`,
    }),
    tracker: createOrderTracker(),
    async close() {
      await transport.close();
      await outbox.close();
      await pool.end();
      redis.disconnect();
      s3.destroy();
    },
  };
}
