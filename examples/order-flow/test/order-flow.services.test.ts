// The same order flow on the real services: Kafka 4.x events, RabbitMQ commands, PostgreSQL
// outbox, Redis dedupe and S3 claim check, configured by real-infrastructure.ts only.
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  connectRabbit,
  createKafka,
  createRedis,
  createS3Client,
  endpoints,
} from '@eda/test-services';
import pg from 'pg';
import { describe, it } from 'vitest';
import { runOrderFlow } from '../src/order-flow.js';
import { createRealInfrastructure } from '../src/real-infrastructure.js';
import { expectOrderFlowOutcome } from './expect-order-flow.js';

/** Removes what a run created under `namespace` on every service. */
async function deleteNamespace(namespace: string): Promise<void> {
  const kafka = createKafka(4).admin();
  await kafka.connect();
  const topics = (await kafka.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
  if (topics.length) await kafka.deleteTopics({ topics });
  await kafka.disconnect();

  const rabbit = await connectRabbit();
  const channel = await rabbit.createChannel();
  for (const name of ['inventory', 'billing', 'notifications', 'shipping', 'ship.order']) {
    await channel.deleteQueue(`${namespace}.${name}`);
    await channel.deleteQueue(`${namespace}.${name}.dead-letter`);
  }
  await channel.deleteExchange(`${namespace}.events`);
  await rabbit.close();

  const client = new pg.Client({ connectionString: endpoints.postgresUrl });
  await client.connect();
  await client.query(`drop schema if exists "${namespace.replaceAll(/[^a-z0-9_]/g, '_')}" cascade`);
  await client.end();

  const redis = createRedis();
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();

  const s3 = createS3Client();
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: endpoints.s3.bucket, Prefix: `${namespace}/` }),
  );
  const objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
  if (objects.length)
    await s3.send(
      new DeleteObjectsCommand({ Bucket: endpoints.s3.bucket, Delete: { Objects: objects } }),
    );
  s3.destroy();
}

describe('order flow on real infrastructure', () => {
  it('ships and invoices every order once, skips the duplicate, dead-letters the poison message', async () => {
    // A namespace of its own, so earlier runs' topics, queues and tables do not interfere.
    const namespace = `order-flow-test-${Date.now().toString(36)}`;
    const infra = await createRealInfrastructure({ namespace });
    try {
      const report = await runOrderFlow(infra);
      expectOrderFlowOutcome(report);
    } finally {
      await infra.close();
      await deleteNamespace(namespace);
    }
  });
});
