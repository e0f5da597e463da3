// Set-up shared by the Kafka benchmarks: the records they publish, filling a topic through the
// transport, the raw kafkajs consumer and eachBatch loop they measure against, and removing what
// a run created. One copy, so every script compares against the same baseline.
import type { OutgoingMessage } from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import type { Admin, ConsumerRunConfig, EachBatchHandler, Kafka, KafkaMessage } from 'kafkajs';
import { createKafkaTransport } from '../src/index.js';

export const brokers = (process.env.EDA_KAFKA_BROKERS || '127.0.0.1:9092').split(',');

/** Core's sleep (without a signal it is a plain timer). */
export { abortableSleep as sleep } from '@eda/core/adapter';

/** Partly random bytes, so compression (off here) would not flatter either side. */
export function benchBody(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 4 === 0 ? (Math.random() * 256) | 0 : 97;
  return bytes;
}

/** An event as the benchmarks publish it: a binary body, a time and a partition key. */
export function benchEvent(type: string, key: string, body: Uint8Array): OutgoingMessage {
  return {
    attributes: {
      id: uuidv7(),
      type,
      source: 'bench',
      specversion: '1.0',
      kind: 'event',
      datacontenttype: 'application/octet-stream',
      time: new Date().toISOString(),
      partitionkey: key,
    },
    body,
  };
}

/** Fills a topic with `count` 1 KiB records of `keys` keys through the transport; returns the topic. */
export async function fillTopic(
  kafka: Kafka,
  prefix: string,
  type: string,
  count: number,
  keys: number,
  partitions: number,
): Promise<string> {
  const transport = createKafkaTransport({ kafka, topicPrefix: prefix, topics: { partitions } });
  const body = benchBody(1024);
  for (let start = 0; start < count; start += 500) {
    await transport.publish(
      Array.from({ length: Math.min(500, count - start) }, (_, i) =>
        benchEvent(type, `k${(start + i) % keys}`, body),
      ),
    );
  }
  await transport.close();
  return `${prefix}${type}`;
}

/** A plain kafkajs consumer in a fresh group, reading `topic` from the start; resolves to its stop. */
export async function startRawConsumer(
  kafka: Kafka,
  groupPrefix: string,
  topic: string,
  run: ConsumerRunConfig,
): Promise<() => Promise<void>> {
  const consumer = kafka.consumer({ groupId: `${groupPrefix}-${uuidv7()}`, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run(run);
  return () => consumer.disconnect();
}

/** The raw eachBatch loop: each record awaited in turn and resolved, then commit and heartbeat. */
export function rawEachBatch(
  perRecord: (message: KafkaMessage) => Promise<unknown> | unknown,
): EachBatchHandler {
  return async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
    for (const message of batch.messages) {
      await perRecord(message);
      resolveOffset(message.offset);
    }
    await commitOffsetsIfNecessary();
    await heartbeat();
  };
}

/** Deletes the topics and consumer groups a run created (their names start with `prefix`). */
export async function deleteByPrefix(admin: Admin, prefix: string): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  const { groups } = await admin.listGroups();
  const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
  if (ours.length) await admin.deleteGroups(ours).catch(() => undefined);
}
