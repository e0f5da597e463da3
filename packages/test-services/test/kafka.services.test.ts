// kafkajs 2.2.4 against both Kafka lines: topics, produce, consume, commit, transactions, and
// the restart hook.
import { Socket } from 'node:net';
import { type Consumer, type EachMessagePayload, Partitioners } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupServices,
  createKafka,
  kafkaBrokers,
  kafkajsRequestVersions,
  kafkaMajors,
  restartKafka,
  useKafkaTopic,
} from '../src/index.js';

afterEach(cleanupServices);

/** Consumes until `count` messages arrived, then stops the consumer's run loop. */
async function consumeUntil(
  consumer: Consumer,
  topic: string,
  count: number,
  handle?: (p: EachMessagePayload) => Promise<void>,
) {
  const seen: EachMessagePayload[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${seen.length} of ${count} messages arrived`)),
      60_000,
    );
    consumer
      .run({
        autoCommit: false,
        eachMessage: async (payload) => {
          await handle?.(payload);
          seen.push(payload);
          if (seen.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  return seen;
}

describe.each(kafkaMajors)('Kafka %i.x with kafkajs', (major) => {
  it('accepts every request version kafkajs sends', async () => {
    const versions = await kafkajsRequestVersions(major);
    expect(versions.map((v) => v.name)).toEqual(
      expect.arrayContaining(['Produce', 'Fetch', 'JoinGroup', 'EndTxn']),
    );
    const rejected = versions.filter((v) => !v.accepted);
    expect(rejected).toEqual([]);
  });

  it('creates a topic with the partitions asked for, on the right broker', async () => {
    const topic = await useKafkaTopic({ major, partitions: 3 });
    const admin = topic.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic.name] });
      expect(topics[0]?.partitions).toHaveLength(3);
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual(kafkaBrokers(major));
    } finally {
      await admin.disconnect();
    }
    await topic.cleanup();
    const check = topic.kafka.admin();
    await check.connect();
    try {
      expect(await check.listTopics()).not.toContain(topic.name);
    } finally {
      await check.disconnect();
    }
  });

  it('produces, consumes and commits offsets that the group then reports', async () => {
    const topic = await useKafkaTopic({ major, partitions: 3 });
    const producer = topic.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
    });
    await producer.connect();
    const sent = Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await producer.send({ topic: topic.name, acks: -1, messages: sent });
    await producer.disconnect();

    const groupId = topic.groupId();
    const consumer = topic.kafka.consumer({ groupId });
    await consumer.connect();
    try {
      const seen = await consumeUntil(
        consumer,
        topic.name,
        sent.length,
        async ({ partition, message }) => {
          await consumer.commitOffsets([
            { topic: topic.name, partition, offset: String(Number(message.offset) + 1) },
          ]);
        },
      );
      expect(seen.map((p) => p.message.value?.toString()).sort()).toEqual(
        sent.map((m) => m.value).sort(),
      );
      // The default partitioner hashes the keys over all three partitions.
      const partitionsUsed = new Set(seen.map((p) => p.partition));
      expect(partitionsUsed.size).toBeGreaterThan(1);
    } finally {
      await consumer.disconnect();
    }

    const admin = topic.kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: [topic.name] });
      const ends = await admin.fetchTopicOffsets(topic.name);
      const committedByPartition = Object.fromEntries(
        committed[0]!.partitions.map((p) => [p.partition, p.offset]),
      );
      for (const end of ends) expect(committedByPartition[end.partition]).toBe(end.high);
      expect(ends.reduce((n, p) => n + Number(p.high), 0)).toBe(sent.length);
    } finally {
      await admin.disconnect();
    }
  });

  it('commits a transaction that a read_committed consumer then sees, and hides an aborted one', async () => {
    const topic = await useKafkaTopic({ major, partitions: 1 });
    const producer = topic.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      transactionalId: `${topic.name}-tx`,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic: topic.name, messages: [{ value: 'aborted' }] });
      await aborted.abort();
      const committed = await producer.transaction();
      await committed.send({ topic: topic.name, messages: [{ value: 'committed' }] });
      await committed.commit();
    } finally {
      await producer.disconnect();
    }

    const consumer = topic.kafka.consumer({ groupId: topic.groupId(), readUncommitted: false });
    await consumer.connect();
    try {
      const seen = await consumeUntil(consumer, topic.name, 1);
      expect(seen.map((p) => p.message.value?.toString())).toEqual(['committed']);
    } finally {
      await consumer.disconnect();
    }
  });

  it('restartKafka drops open connections, and the broker comes back with its data', async () => {
    const topic = await useKafkaTopic({ major, partitions: 1 });
    const producer = topic.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: topic.name, acks: -1, messages: [{ value: 'before restart' }] });
    await producer.disconnect();

    // A plain TCP connection to the broker: it must be closed by the broker going away.
    const [host, port] = kafkaBrokers(major)[0]!.split(':') as [string, string];
    const socket = new Socket();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) =>
      socket.connect(Number(port), host, resolve).once('error', reject),
    );

    await restartKafka(major);
    await closed;

    const after = createKafka(major).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await after.connect();
    await after.send({ topic: topic.name, acks: -1, messages: [{ value: 'after restart' }] });
    await after.disconnect();
    const consumer = topic.kafka.consumer({ groupId: topic.groupId() });
    await consumer.connect();
    try {
      const seen = await consumeUntil(consumer, topic.name, 2);
      expect(seen.map((p) => p.message.value?.toString())).toEqual([
        'before restart',
        'after restart',
      ]);
    } finally {
      await consumer.disconnect();
    }
  });
});
