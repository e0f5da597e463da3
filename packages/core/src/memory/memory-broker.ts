// The in-memory broker: the state that outlives transport clients (topics, consumer-group
// offsets, queues, dead letters), so closing a client and opening another loses nothing.
import type { DeliveryOrigin, Disposition } from '../contracts/transport.js';
import { deadLetterHeaders } from '../dead-letter-headers.js';
import { ConfigurationError } from '../errors.js';
import { getOrCreate } from '../get-or-create.js';
import { ConsumerGroup, LogTopic, type StoredRecord } from './memory-log.js';
import { MemoryQueue } from './memory-queue.js';

/** Options of `createInMemoryBroker`. */
export interface InMemoryBrokerOptions {
  /** Partitions of each topic. @default 4 */
  readonly partitions?: number;
}

/** A dead-lettered message with the reason headers added. */
export interface InMemoryDeadLetter {
  /** Its place in the broker, unique per broker (for the dead-letter admin). */
  readonly handle: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** The record's key, kept so a redrive lands on the same partition. */
  readonly key: string | undefined;
  /** Whether it was read from a topic (an event) or a queue (a command). */
  readonly from: 'topic' | 'queue';
}

/** Shared state of in-memory transports. */
export interface InMemoryBroker {
  /** Partitions of each topic. */
  readonly partitions: number;
  /** The log of a topic, created on first use (tests read `topic(name).partitions`). */
  topic(name: string): LogTopic;
  /** A consumer group's state on a topic, created on first use at `startAt`. */
  group(name: string, topic: LogTopic, startAt: 'earliest' | 'latest'): ConsumerGroup;
  /** A command queue, created on first use. */
  queue(name: string): MemoryQueue;
  /** Dead letters of a subscription (consumer group or queue owner), oldest first. */
  deadLetters(subscription: string): readonly InMemoryDeadLetter[];
  /** Removes a dead letter (redriven or discarded); the removed one, or undefined if none. */
  removeDeadLetter(subscription: string, handle: string): InMemoryDeadLetter | undefined;
  /** Committed offsets of a group on a topic, per partition. */
  committedOffsets(group: string, topic: string): readonly number[] | undefined;
  /** Simulates a broker restart: every in-flight delivery is abandoned and redelivered. */
  restart(): void;
  /** Stops retry timers. */
  close(): void;
}

/**
 * Creates the shared state of in-memory transports; give one broker to several transports to
 * let them talk, as separate processes would through a real broker.
 * @throws ConfigurationError when `partitions` is not a positive integer.
 */
export function createInMemoryBroker(options: InMemoryBrokerOptions = {}): InMemoryBroker {
  const { partitions = 4 } = options;
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new ConfigurationError(
      `In-memory broker partitions is ${partitions}: use an integer >= 1.`,
    );
  }
  const topics = new Map<string, LogTopic>();
  const groups = new Map<string, ConsumerGroup>();
  const queues = new Map<string, MemoryQueue>();
  const deadLetters = new Map<string, InMemoryDeadLetter[]>();
  let deadLettersStored = 0;

  const sinkFor =
    (from: InMemoryDeadLetter['from']) =>
    (
      record: StoredRecord,
      disposition: Extract<Disposition, { type: 'dead-letter' }>,
      origin: DeliveryOrigin,
    ) => {
      const list = deadLetters.get(disposition.reason.subscription) ?? [];
      list.push({
        handle: String(++deadLettersStored),
        headers: { ...record.headers, ...deadLetterHeaders(disposition.reason, origin) },
        body: record.body,
        key: record.key,
        from,
      });
      deadLetters.set(disposition.reason.subscription, list);
    };

  return {
    partitions,
    topic: (name) => getOrCreate(topics, name, () => new LogTopic(name, partitions)),
    group(name, topic, startAt) {
      return getOrCreate(
        groups,
        `${name}\u0000${topic.name}`,
        () => new ConsumerGroup(name, topic, startAt, sinkFor('topic')),
      );
    },
    queue: (name) => getOrCreate(queues, name, () => new MemoryQueue(name, sinkFor('queue'))),
    deadLetters: (subscription) => deadLetters.get(subscription) ?? [],
    removeDeadLetter(subscription, handle) {
      const list = deadLetters.get(subscription) ?? [];
      const index = list.findIndex((d) => d.handle === handle);
      return index < 0 ? undefined : list.splice(index, 1)[0];
    },
    committedOffsets: (group, topic) => groups.get(`${group}\u0000${topic}`)?.committed,
    restart() {
      for (const group of groups.values()) group.restart();
      for (const queue of queues.values()) queue.restart();
    },
    close() {
      for (const queue of queues.values()) queue.close();
    },
  };
}
