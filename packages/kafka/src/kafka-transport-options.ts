// Options of the Kafka transport, their defaults, and the checks that reject impossible values
// before any connection is made.
import { ConfigurationError } from '@eda/core';
import type { Kafka } from 'kafkajs';
import type { KafkaLogLevel } from './log-level.js';
import { defaultDeadLetterTopicFor, defaultRetryTopicFor, defaultTopicFor } from './topic-names.js';
import type { KafkaTransportEvent } from './transport-events.js';

/** Compression of produced batches. Codecs other than gzip must be registered on kafkajs's `CompressionCodecs` by the application. */
export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** How the producer writes. */
export interface KafkaProducerOptions {
  /** Replicas that must acknowledge: -1 all in-sync replicas, 1 the leader only, 0 none. @default -1 */
  readonly acks?: -1 | 0 | 1;
  /** Idempotent producer: the broker drops duplicates caused by producer retries. Needs acks -1. @default false */
  readonly idempotent?: boolean;
  /** Batch compression, passed through to kafkajs. @default 'none' */
  readonly compression?: KafkaCompression;
  /** How long the broker may take to acknowledge a batch. @default 30000 */
  readonly timeoutMs?: number;
}

/** How subscriptions consume. */
export interface KafkaConsumerOptions {
  /** A member silent for this long is removed from its group. @default 30000 */
  readonly sessionTimeoutMs?: number;
  /** How long the group waits for members to rejoin during a rebalance. @default 60000 */
  readonly rebalanceTimeoutMs?: number;
  /** How often a member heartbeats, including while handlers run. @default 3000 */
  readonly heartbeatIntervalMs?: number;
  /** Most bytes fetched per partition and request. @default 1048576 */
  readonly maxBytesPerPartition?: number;
  /** Longest a fetch waits for new records; also bounds how long `close()` waits for an idle fetch. @default 1000 */
  readonly maxWaitTimeMs?: number;
  /** Partitions whose fetched batches are processed at once by one member. @default 8 */
  readonly partitionsConsumedConcurrently?: number;
  /** How often progress inside a long batch is committed. @default 1000 */
  readonly commitIntervalMs?: number;
  /** How long `close()` waits for in-flight handlers; records still unsettled then are not committed and are redelivered later. @default 30000 */
  readonly shutdownTimeoutMs?: number;
  /** Records larger than this (value plus headers) are dead-lettered at once without being handed to the handler. @default 1048576 */
  readonly maxRecordBytes?: number;
  /**
   * Records without a key: `partition` handles them one at a time in partition order;
   * `unordered` lets them run in parallel up to the subscription's concurrency.
   * @default 'partition'
   */
  readonly unkeyedOrder?: 'partition' | 'unordered';
  /** Delay before redelivering a record whose handler threw instead of returning a disposition. @default 1000 */
  readonly thrownErrorDelayMs?: number;
}

/**
 * How `retry` dispositions are carried out.
 * - `blocking` (default): the record stays where it is, the member waits the delay (heartbeating)
 *   and delivers it again. Later records of the same key wait behind it, so per-key order holds;
 *   other keys keep flowing. The partition's commit point does not pass the record.
 * - `topics`: the record is copied to the subscription's retry topic for its attempt (tier) with
 *   the attempt count and due time in headers, and the original is settled. Nothing waits
 *   behind it, but later records of the same key may be handled before the retried one.
 */
export interface KafkaRetryOptions {
  /** @default 'blocking' */
  readonly mode?: 'blocking' | 'topics';
  /** Retry topics per subscription in `topics` mode; attempts past the last tier reuse it. @default 3 */
  readonly tiers?: number;
  /**
   * Longest wait of one retry, in both modes: a longer `delayMs` is shortened to it, and a
   * retry-topic record due later than this from now (a skewed clock or a forged
   * `x-eda-retry-due` header) waits only this long, so no record can hold its lane for longer.
   * @default 300000
   */
  readonly maxDelayMs?: number;
}

/** Topics the transport creates when they are missing. */
export interface KafkaTopicOptions {
  /** Create missing topics on publish and subscribe (Kafka's own auto-creation would make them with one partition, and a KRaft consumer cannot subscribe to a missing topic). @default true */
  readonly autoCreate?: boolean;
  /** Partitions of created topics. @default 3 */
  readonly partitions?: number;
  /** Replication factor of created topics. @default the broker's default.replication.factor */
  readonly replicationFactor?: number;
  /** Topic configuration entries of created topics, such as `{ 'retention.ms': '604800000' }`. @default {} */
  readonly config?: Readonly<Record<string, string>>;
}

/** Options of `createKafkaTransport`. */
export interface KafkaTransportOptions {
  /**
   * A kafkajs client the application built. The transport creates its own producer, admin and
   * consumers from it and closes only those. Give either `kafka` or `brokers`.
   */
  readonly kafka?: Kafka;
  /** Bootstrap brokers, when the transport should build the kafkajs client itself. */
  readonly brokers?: readonly string[];
  /** Client id of a client the transport builds. @default 'eda' */
  readonly clientId?: string;
  /** kafkajs logging of a client the transport builds. @default 'error' */
  readonly logLevel?: KafkaLogLevel;
  /** Prefix of every default topic name (events, dead letters, retries). @default '' */
  readonly topicPrefix?: string;
  /** The topic of a message type. Map related types to one topic to keep their order per key. @default topicPrefix + type */
  readonly topicFor?: (type: string) => string;
  /** The dead-letter topic of a subscription. @default topicPrefix + name + '.dlq' */
  readonly deadLetterTopicFor?: (subscription: string) => string;
  /** The retry topic of a subscription and tier (1-based), for `retry.mode: 'topics'`. @default topicPrefix + name + '.retry.' + tier */
  readonly retryTopicFor?: (subscription: string, tier: number) => string;
  /**
   * Commands over Kafka. A topic cannot give a command a single owner: every consumer group that
   * subscribes receives it. `refuse` makes `send()` throw a CapabilityError pointing to a queue
   * transport such as @eda/rabbitmq. `allow` sends commands to topics like events (topicFor) and
   * consumes them with the owner's consumer group; use it only when you make sure one group reads them.
   * @default 'refuse'
   */
  readonly commands?: 'refuse' | 'allow';
  readonly producer?: KafkaProducerOptions;
  readonly consumer?: KafkaConsumerOptions;
  readonly retry?: KafkaRetryOptions;
  readonly topics?: KafkaTopicOptions;
  /**
   * Told about failures the transport handles itself (a failed commit, dead-letter write or
   * consumer crash). Must not throw.
   * @default logs to console.error unless logLevel is 'nothing'
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Told about failures the transport handled by a policy of its own (a refused dead-letter or
   * retry copy, a capped retry wait, a subscription it stopped, a commit dropped after a
   * rejoin); `transport.stats()` counts them. Must not throw.
   * @default none
   */
  readonly onEvent?: (event: KafkaTransportEvent) => void;
}

/** Options with every default filled in. */
export interface ResolvedKafkaOptions {
  readonly topicFor: (type: string) => string;
  readonly deadLetterTopicFor: (subscription: string) => string;
  readonly retryTopicFor: (subscription: string, tier: number) => string;
  readonly commands: 'refuse' | 'allow';
  readonly producer: Required<KafkaProducerOptions>;
  readonly consumer: Required<KafkaConsumerOptions>;
  readonly retry: Required<KafkaRetryOptions>;
  readonly topics: {
    readonly autoCreate: boolean;
    readonly partitions: number;
    readonly replicationFactor: number | undefined;
    readonly config: Readonly<Record<string, string>>;
  };
  readonly onError: (error: unknown) => void;
}

function integer(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `Kafka transport option ${name} is ${value}: use an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}.`,
    );
  }
  return value;
}

function oneOf<T extends string | number>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new ConfigurationError(
      `Kafka transport option ${name} is ${JSON.stringify(value)}: use one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}.`,
    );
  }
  return value;
}

/**
 * Fills in defaults and rejects impossible combinations.
 * @throws ConfigurationError naming the option and what to do.
 */
export function resolveKafkaOptions(options: KafkaTransportOptions): ResolvedKafkaOptions {
  const prefix = options.topicPrefix ?? '';
  const producer = options.producer ?? {};
  const consumer = options.consumer ?? {};
  const retry = options.retry ?? {};
  const topics = options.topics ?? {};
  const acks = oneOf('producer.acks', producer.acks ?? -1, [-1, 0, 1] as const);
  const idempotent = producer.idempotent ?? false;
  if (idempotent && acks !== -1) {
    throw new ConfigurationError(
      `Kafka transport: an idempotent producer needs producer.acks -1 (it is ${acks}); remove acks or set it to -1.`,
    );
  }
  const sessionTimeoutMs = integer(
    'consumer.sessionTimeoutMs',
    consumer.sessionTimeoutMs ?? 30_000,
    1,
  );
  const heartbeatIntervalMs = integer(
    'consumer.heartbeatIntervalMs',
    consumer.heartbeatIntervalMs ?? 3000,
    1,
  );
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new ConfigurationError(
      `Kafka transport: consumer.heartbeatIntervalMs (${heartbeatIntervalMs}) must be lower than consumer.sessionTimeoutMs (${sessionTimeoutMs}), typically a third of it.`,
    );
  }
  const logQuiet = options.logLevel === 'nothing';
  return {
    topicFor: options.topicFor ?? defaultTopicFor(prefix),
    deadLetterTopicFor: options.deadLetterTopicFor ?? defaultDeadLetterTopicFor(prefix),
    retryTopicFor: options.retryTopicFor ?? defaultRetryTopicFor(prefix),
    commands: oneOf('commands', options.commands ?? 'refuse', ['refuse', 'allow'] as const),
    producer: {
      acks,
      idempotent,
      compression: oneOf('producer.compression', producer.compression ?? 'none', [
        'none',
        'gzip',
        'snappy',
        'lz4',
        'zstd',
      ] as const),
      timeoutMs: integer('producer.timeoutMs', producer.timeoutMs ?? 30_000, 1),
    },
    consumer: {
      sessionTimeoutMs,
      heartbeatIntervalMs,
      rebalanceTimeoutMs: integer(
        'consumer.rebalanceTimeoutMs',
        consumer.rebalanceTimeoutMs ?? 60_000,
        1,
      ),
      maxBytesPerPartition: integer(
        'consumer.maxBytesPerPartition',
        consumer.maxBytesPerPartition ?? 1_048_576,
        1,
      ),
      maxWaitTimeMs: integer('consumer.maxWaitTimeMs', consumer.maxWaitTimeMs ?? 1000, 0),
      partitionsConsumedConcurrently: integer(
        'consumer.partitionsConsumedConcurrently',
        consumer.partitionsConsumedConcurrently ?? 8,
        1,
      ),
      commitIntervalMs: integer('consumer.commitIntervalMs', consumer.commitIntervalMs ?? 1000, 1),
      shutdownTimeoutMs: integer(
        'consumer.shutdownTimeoutMs',
        consumer.shutdownTimeoutMs ?? 30_000,
        0,
      ),
      maxRecordBytes: integer('consumer.maxRecordBytes', consumer.maxRecordBytes ?? 1_048_576, 1),
      unkeyedOrder: oneOf('consumer.unkeyedOrder', consumer.unkeyedOrder ?? 'partition', [
        'partition',
        'unordered',
      ] as const),
      thrownErrorDelayMs: integer(
        'consumer.thrownErrorDelayMs',
        consumer.thrownErrorDelayMs ?? 1000,
        0,
      ),
    },
    retry: {
      mode: oneOf('retry.mode', retry.mode ?? 'blocking', ['blocking', 'topics'] as const),
      tiers: integer('retry.tiers', retry.tiers ?? 3, 1, 100),
      maxDelayMs: integer('retry.maxDelayMs', retry.maxDelayMs ?? 300_000, 0),
    },
    topics: {
      autoCreate: topics.autoCreate ?? true,
      partitions: integer('topics.partitions', topics.partitions ?? 3, 1),
      replicationFactor:
        topics.replicationFactor === undefined
          ? undefined
          : integer('topics.replicationFactor', topics.replicationFactor, 1),
      config: topics.config ?? {},
    },
    onError:
      options.onError ??
      ((error: unknown) => {
        if (!logQuiet) console.error('[@eda/kafka]', error);
      }),
  };
}
