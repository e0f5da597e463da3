// Shared set-up of the services tests: transports and dead-letter admins on a unique topic prefix
// per test (its topics and groups deleted afterwards), polling with an idle timeout, and a reader
// for dead-letter topics.
import type { DeadLetterAdmin, OutgoingMessage, Transport } from '@eda/core';
import { type Disposition, uuidv7 } from '@eda/core/adapter';
import { type KafkaMajor, kafkaBrokers, kafkaClusterBrokers, uniqueName } from '@eda/test-services';
import { Kafka, logLevel } from 'kafkajs';
import {
  createKafkaDeadLetterAdmin,
  createKafkaTransport,
  type KafkaDeadLetterAdminOptions,
  type KafkaTransport,
  type KafkaTransportOptions,
} from '../src/index.js';
import { headerStrings } from '../src/record-mapping.js';

export const ack: Disposition = { type: 'ack' };

/** An event whose body is `data` as JSON; `extra` adds or replaces attributes. */
export function jsonMessage(
  type: string,
  data: unknown,
  extra: Record<string, string> = {},
): OutgoingMessage {
  return {
    attributes: {
      id: uuidv7(),
      type,
      source: 'test',
      specversion: '1.0',
      kind: 'event',
      datacontenttype: 'application/json',
      ...extra,
    },
    body: new TextEncoder().encode(JSON.stringify(data)),
  };
}

/** Consumer settings that make rebalances and failure detection quick in tests. */
export const fastConsumer = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1000,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 200,
  commitIntervalMs: 200,
} as const;

/** A single broker of the machine (Kafka 4 or 3), or the three-broker cluster a test starts itself. */
export type KafkaTarget = KafkaMajor | 'cluster';

const brokersOf = (target: KafkaTarget) =>
  target === 'cluster' ? kafkaClusterBrokers() : kafkaBrokers(target);

export function rawKafka(target: KafkaTarget): Kafka {
  return new Kafka({
    clientId: 'eda-kafka-test',
    brokers: brokersOf(target),
    logLevel: logLevel.NOTHING,
  });
}

/** A namespace (topic prefix) for one test: transports on it, and cleanup of its topics and groups. */
export interface Namespace {
  readonly prefix: string;
  readonly kafka: Kafka;
  transport(options?: Partial<KafkaTransportOptions>): KafkaTransport;
  /** A dead-letter admin naming topics as `transport(options)` does; its settled topics and reader groups are on the prefix too. */
  deadLetterAdmin(options?: Partial<KafkaDeadLetterAdminOptions>): DeadLetterAdmin;
  /** A unique subscription (group) name, deleted at cleanup. */
  group(label?: string): string;
  /** Records of a topic from the start, as header strings and values. */
  readTopic(topic: string, count: number, idleMs?: number): Promise<ReadRecord[]>;
  cleanup(): Promise<void>;
}

export interface ReadRecord {
  readonly headers: Record<string, string>;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly partition: number;
  readonly offset: string;
}

export function namespace(target: KafkaTarget, label = 'kafka'): Namespace {
  const prefix = `${uniqueName(label)}.`;
  const kafka = rawKafka(target);
  const transports: Transport[] = [];
  const admins: DeadLetterAdmin[] = [];
  const groups: string[] = [];
  const optionsWith = <T extends Partial<KafkaTransportOptions>>(options: T) => ({
    brokers: brokersOf(target),
    logLevel: 'nothing' as const,
    onError: () => undefined,
    topicPrefix: prefix,
    ...options,
    consumer: { ...fastConsumer, ...options.consumer },
  });
  return {
    prefix,
    kafka,
    transport(options = {}) {
      const transport = createKafkaTransport(optionsWith(options));
      transports.push(transport);
      return transport;
    },
    deadLetterAdmin(options = {}) {
      const admin = createKafkaDeadLetterAdmin(optionsWith(options));
      admins.push(admin);
      return admin;
    },
    group(groupLabel = 'group') {
      const name = `${prefix}${groupLabel}-${uuidv7().slice(-8)}`;
      groups.push(name);
      return name;
    },
    async readTopic(topic, count, idleMs = 15_000) {
      const consumer = kafka.consumer({
        groupId: `${prefix}reader-${uuidv7()}`,
        maxWaitTimeInMs: 200,
      });
      groups.push(`${prefix}reader`);
      const records: ReadRecord[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        let last = Date.now();
        await consumer.run({
          eachMessage: async ({ message, partition }) => {
            last = Date.now();
            records.push({
              headers: headerStrings(message.headers).headers,
              key: message.key?.toString('utf8') ?? null,
              value: message.value,
              partition,
              offset: message.offset,
            });
          },
        });
        while (records.length < count && Date.now() - last < idleMs) await sleep(50);
        return records;
      } finally {
        await consumer.disconnect();
      }
    },
    async cleanup() {
      await Promise.allSettled([...transports, ...admins].map((t) => t.close()));
      const admin = kafka.admin();
      await admin.connect();
      try {
        // Right after a broker restart its group coordinator may still be loading: wait it out.
        const { groups: all } = await whileRetriable(() => admin.listGroups());
        const ours = all.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
        if (ours.length) await admin.deleteGroups(ours).catch(() => undefined);
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
        if (topics.length)
          await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `condition` holds. Fails when `progress()` (a count of something happening) has
 * not changed for `idleMs`, so slow but steady progress never times out.
 */
export async function until(
  condition: () => boolean,
  progress: () => unknown = () => undefined,
  idleMs = 20_000,
  what = 'condition',
): Promise<void> {
  let lastValue = progress();
  let lastChange = Date.now();
  while (!condition()) {
    await sleep(20);
    const value = progress();
    if (value !== lastValue) {
      lastValue = value;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > idleMs) {
      throw new Error(`Timed out after ${idleMs} ms without progress waiting for ${what}`);
    }
  }
}

/**
 * Runs an admin call again while kafkajs reports a retriable error (a coordinator still loading
 * after a restart), for up to about 30 s.
 */
async function whileRetriable<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || attempt >= 60) throw error;
      await sleep(500);
    }
  }
}
