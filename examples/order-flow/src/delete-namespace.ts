// Removes what a run of the order flow created under its namespace on every service: topics,
// queues, the PostgreSQL schema (outbox, inbox, ledger), Redis keys and S3 objects.
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  connectRabbit,
  createKafka,
  createRedis,
  createS3Client,
  endpoints,
} from '@eda/test-services';
import pg from 'pg';
import { createRealTransports, schemaOf } from './real-infrastructure.js';

/** Removes what a run created under `namespace` on every service. */
export async function deleteNamespace(namespace: string): Promise<void> {
  // A broker that was just restarted may still be electing leaders: give it about 25 s (as
  // @eda/kafka's lag reads do), not the test client's default of a few seconds.
  const kafka = createKafka(4, {
    retry: { retries: 8, initialRetryTime: 250, maxRetryTime: 8_000 },
  }).admin();
  await kafka.connect();
  const topics = (await kafka.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
  if (topics.length) await kafka.deleteTopics({ topics });
  await kafka.disconnect();

  const rabbit = await connectRabbit();
  const channel = await rabbit.createChannel();
  for (const name of [
    'inventory',
    'billing',
    'notifications',
    'shipping',
    'ship.order',
    'workflow-monitor',
  ]) {
    await channel.deleteQueue(`${namespace}.${name}`);
    await channel.deleteQueue(`${namespace}.${name}.dead-letter`);
  }
  const { commands } = createRealTransports(namespace);
  for (const queue of commands.names.delayQueues()) {
    await channel.deleteQueue(queue);
    await channel.deleteExchange(queue);
  }
  await channel.deleteExchange(`${namespace}.events`);
  await rabbit.close();

  const client = new pg.Client({ connectionString: endpoints.postgresUrl });
  await client.connect();
  await client.query(`drop schema if exists "${schemaOf(namespace)}" cascade`);
  await client.end();

  const redis = createRedis();
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();

  const s3 = createS3Client();
  // A listing holds at most 1,000 keys: delete page by page (a crash run writes 20,000 invoices).
  for (;;) {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: endpoints.s3.bucket, Prefix: `${namespace}/` }),
    );
    const objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (!objects.length) break;
    await s3.send(
      new DeleteObjectsCommand({ Bucket: endpoints.s3.bucket, Delete: { Objects: objects } }),
    );
  }
  s3.destroy();
}
