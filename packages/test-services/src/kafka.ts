// Kafka for tests: clients for either Kafka line, and unique topics that are deleted afterwards.
// Topics are created up front because kafkajs cannot subscribe to a missing topic under KRaft.
import { type Admin, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { type Cleanable, registerCleanup } from './cleanup.js';
import { type KafkaMajor, kafkaBrokers } from './endpoints.js';
import { uniqueName } from './unique-name.js';

/**
 * A kafkajs client for one Kafka line. Logs errors only, and retries briefly so that a test
 * against a stopped broker fails in seconds rather than minutes.
 *
 * @param major - which broker: 4 (newest 4.x) or 3 (3.9.x). @default 4
 * @param config - kafkajs settings that replace the defaults.
 */
export function createKafka(major: KafkaMajor = 4, config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'eda-test-services',
    brokers: kafkaBrokers(major),
    logLevel: logLevel.ERROR,
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
    ...config,
  });
}

/**
 * Waits until the broker answers a metadata request.
 *
 * @throws Error when it does not answer within `timeoutMs`.
 */
export async function waitForKafka(major: KafkaMajor = 4, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const admin = createKafka(major, { retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
    try {
      await admin.connect();
      await admin.fetchTopicMetadata();
      return;
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
  throw new Error(
    `Kafka ${major}.x at ${kafkaBrokers(major).join(',')} gave no metadata within ${timeoutMs} ms`,
    {
      cause: last,
    },
  );
}

/** Options for {@link useKafkaTopic}. */
export interface KafkaTopicOptions {
  /** Which broker: 4 (newest 4.x) or 3 (3.9.x). @default 4 */
  major?: KafkaMajor;
  /** Number of partitions. @default 1 */
  partitions?: number;
  /** Words that make the topic name recognisable. @default 'topic' */
  label?: string;
  /** Topic settings, such as `{ 'cleanup.policy': 'compact' }`. @default {} */
  config?: Record<string, string>;
}

/** A topic made for one test; cleanup deletes it and the consumer groups made with it. */
export interface KafkaTopic extends Cleanable {
  /** The topic's unique name. */
  readonly name: string;
  /** Its partition count. */
  readonly partitions: number;
  /** The Kafka line it lives on. */
  readonly major: KafkaMajor;
  /** Bootstrap brokers of that line. */
  readonly brokers: string[];
  /** A kafkajs client for that line (see {@link createKafka}). */
  readonly kafka: Kafka;
  /** Returns a new unique consumer group id; the group is deleted at cleanup. */
  groupId(label?: string): string;
}

/**
 * Creates a unique topic and waits until every partition has a leader.
 *
 * @example
 * afterEach(cleanupServices);
 * it('...', async () => {
 *   const topic = await useKafkaTopic({ partitions: 3 });
 *   const consumer = topic.kafka.consumer({ groupId: topic.groupId() });
 * });
 * @throws Error when the topic cannot be created.
 */
/**
 * Waits until every partition of a new topic has a leader, treating "unknown topic" and "no
 * leader yet" answers as not yet.
 * @throws Error naming the topic when that takes longer than 60 s.
 */
async function waitForLeaders(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      const led = metadata?.partitions.filter((p) => p.leader >= 0).length ?? 0;
      if (led === partitions) return;
      last = `${led} of ${partitions} partitions have a leader`;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `useKafkaTopic: topic ${topic} has no leader for every partition after 60 s (${last instanceof Error ? last.message : String(last)})`,
  );
}

export async function useKafkaTopic(options: KafkaTopicOptions = {}): Promise<KafkaTopic> {
  const { major = 4, partitions = 1, label = 'topic', config = {} } = options;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`useKafkaTopic: partitions must be a positive integer, got ${partitions}`);
  }
  const kafka = createKafka(major);
  const name = uniqueName(label);
  const groups: string[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      // kafkajs's own wait gives up when the metadata does not know the new topic yet (a busy
      // broker answers "does not host this topic-partition" for a moment): wait here instead.
      waitForLeaders: false,
      topics: [
        {
          topic: name,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: Object.entries(config).map(([k, v]) => ({ name: k, value: v })),
        },
      ],
    });
    if (!created) throw new Error(`useKafkaTopic: topic ${name} already existed`);
    await waitForLeaders(admin, name, partitions);
  } finally {
    await admin.disconnect();
  }

  const cleanable = registerCleanup(async () => {
    const cleaner = kafka.admin();
    await cleaner.connect();
    try {
      // Groups first: a group with offsets on a deleted topic would linger for days.
      if (groups.length > 0) await cleaner.deleteGroups(groups).catch(() => {});
      await cleaner.deleteTopics({ topics: [name], timeout: 10_000 });
    } finally {
      await cleaner.disconnect();
    }
  });
  return {
    name,
    partitions,
    major,
    brokers: kafkaBrokers(major),
    kafka,
    groupId(groupLabel = 'group') {
      const id = uniqueName(groupLabel);
      groups.push(id);
      return id;
    },
    cleanup: cleanable.cleanup,
  };
}
