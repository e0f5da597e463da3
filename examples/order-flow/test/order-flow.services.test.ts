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
import { describe, expect, it } from 'vitest';
import { runOrderFlow } from '../src/order-flow.js';
import { createRealInfrastructure } from '../src/real-infrastructure.js';

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
    const infra = await createRealInfrastructure(namespace);
    try {
      const report = await runOrderFlow(infra);
      for (const order of report.orders) {
        const handled = order.timeline
          .filter((s) => s.action === 'handled')
          .map((s) => `${s.service}:${s.type}`);
        expect(handled.sort()).toEqual([
          'billing:payment.completed',
          'inventory:payment.completed',
          'notifications:invoice.issued',
          'notifications:order.shipped',
          'shipping:ship.order',
        ]);
        expect(order.timeline[0]).toMatchObject({
          service: 'payments',
          action: 'published',
          detail: 'via outbox',
        });
      }
      expect(report.stock).toEqual({ mug: 97, kettle: 9, spoon: 54 });
      expect(
        report.orders[0]!.timeline.some(
          (s) => s.action === 'duplicate-skipped' && s.service === 'inventory',
        ),
      ).toBe(true);
      expect(report.deadLetters.map((d) => d.service).sort()).toEqual(['billing', 'inventory']);
      expect(report.deadLetters.every((d) => d.reason.startsWith('EDA_DECODE'))).toBe(true);
      expect(report.notifications.filter((n) => n.startsWith('invoice'))).toHaveLength(3);
      expect(report.stuck).toBe(0);
    } finally {
      await infra.close();
      await deleteNamespace(namespace);
    }
  });
});
