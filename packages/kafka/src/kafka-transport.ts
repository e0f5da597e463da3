// The Kafka transport: events on a partitioned log with kafkajs. Publishing writes CloudEvents
// binary-mode records keyed by partition key; subscribing runs a consumer group member with
// per-key concurrency, safe commits, retries and dead letters.
import {
  CapabilityError,
  ClosedError,
  ConfigurationError,
  type OutgoingMessage,
  type Transport,
} from '@eda/core';
import type { DeliveryHandler, SubscribeOptions, TransportCapabilities } from '@eda/core/adapter';
import { groupLag, type PartitionLag, type SeekTarget, seekGroup } from './group-admin.js';
import { clientOf, lazyAdmin } from './kafka-client.js';
import {
  type KafkaSubscription,
  type ManagedSubscription,
  startSubscription,
} from './kafka-subscription.js';
import {
  type KafkaTransportOptions,
  type ResolvedKafkaOptions,
  resolveKafkaOptions,
} from './kafka-transport-options.js';
import { PartitionCounts } from './partition-counts.js';
import { toRecord } from './record-mapping.js';
import { RecordWriter, type TopicRecords } from './record-writer.js';
import { KAFKA_SYSTEM, kafkaTelemetry, sendTarget, serverOf } from './telemetry.js';
import { registerKill } from './testing-hooks.js';
import { assertTopicName, checkedDeadLetterTopicFor } from './topic-names.js';
import { TopicRegistry, type TopicSpec } from './topic-registry.js';
import { type KafkaTransportStats, TransportMonitor } from './transport-events.js';

/** Options of `KafkaTransport.ensureTopics`. */
export interface EnsureTopicsOptions {
  /** @default the transport's topics.partitions */
  readonly partitions?: number;
  /** @default the transport's topics.replicationFactor */
  readonly replicationFactor?: number;
  /** @default the transport's topics.config */
  readonly config?: Readonly<Record<string, string>>;
}

/** The Kafka transport, plus topic, replay and lag helpers. */
export interface KafkaTransport extends Transport {
  /**
   * Starts a consumer group member. See `Transport.subscribe`; additionally the subscription can
   * be paused and resumed.
   * @throws CapabilityError for commands unless the transport was created with `commands: 'allow'`;
   * ConfigurationError for invalid options or topic names; UnavailableError when the broker cannot be reached.
   */
  subscribe(options: SubscribeOptions, handler: DeliveryHandler): Promise<KafkaSubscription>;
  /** The topic a message type is written to. @throws ConfigurationError for a name Kafka refuses. */
  topicFor(type: string): string;
  /** The dead-letter topic of a subscription. @throws ConfigurationError for a name Kafka refuses. */
  deadLetterTopicFor(subscription: string): string;
  /** The retry topic of a subscription and tier (1-based), used when `retry.mode` is `topics`. */
  retryTopicFor(subscription: string, tier: number): string;
  /**
   * Creates the topics that do not exist yet (with partitions) and waits for their leaders.
   * Existing topics are left as they are.
   * @throws UnavailableError when the broker refuses or cannot be reached.
   */
  ensureTopics(topics: readonly string[], options?: EnsureTopicsOptions): Promise<void>;
  /**
   * Moves a consumer group's committed offsets on a topic (replay or skip). The group must have
   * no running member.
   * @throws ConfigurationError when the group still has members.
   */
  seek(group: string, topic: string, target: SeekTarget): Promise<void>;
  /**
   * Per-partition committed offset, end offset and lag of a group on a topic. Errors kafkajs
   * marks retriable (a coordinator moving or loading after a broker restart) are read again
   * with backoff for about 25 s before they are thrown.
   */
  lag(group: string, topic: string): Promise<PartitionLag[]>;
  /** Counts of the failures the transport handled by a policy of its own (see `onEvent`). */
  stats(): KafkaTransportStats;
}

function capabilitiesFor(options: ResolvedKafkaOptions): TransportCapabilities {
  return {
    events: true,
    commands: options.commands === 'allow',
    orderedPerKey: true,
    consumerGroups: true,
    competingConsumers: true,
    replay: true,
    delayedRetry: true,
    deadLetter: true,
    persistent: true,
  };
}

/**
 * Creates a Kafka transport. Nothing connects until the first publish or subscribe.
 * @throws ConfigurationError for invalid options.
 */
export function createKafkaTransport(options: KafkaTransportOptions): KafkaTransport {
  const resolved = resolveKafkaOptions(options);
  const kafka = clientOf(options, 'Kafka transport');
  const monitor = new TransportMonitor(options.onEvent);
  const admin = lazyAdmin(kafka);
  const adminClient = admin.get;
  const registry = new TopicRegistry(adminClient);
  const writer = new RecordWriter(
    kafka,
    resolved.producer,
    new PartitionCounts(adminClient),
    (resent) => monitor.report({ kind: 'records-resent', ...resent }),
  );
  const defaultSpec: TopicSpec = {
    partitions: resolved.topics.partitions,
    replicationFactor: resolved.topics.replicationFactor,
    config: resolved.topics.config,
  };
  const subscriptions = new Set<ManagedSubscription>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new ClosedError('Kafka transport');
  };

  // topicFor is expected to be pure: its checked answer is remembered per type, off the hot path.
  const topicsByType = new Map<string, string>();
  const topicFor = (type: string) => {
    let topic = topicsByType.get(type);
    if (topic === undefined) {
      topic = assertTopicName(resolved.topicFor(type), `topicFor("${type}")`);
      topicsByType.set(type, topic);
    }
    return topic;
  };
  const deadLetterTopicFor = checkedDeadLetterTopicFor(resolved.deadLetterTopicFor);
  const retryTopicFor = (subscription: string, tier: number) =>
    assertTopicName(
      resolved.retryTopicFor(subscription, tier),
      `retryTopicFor("${subscription}", ${tier})`,
    );

  const server = serverOf(options.brokers);
  const produceTarget = sendTarget(topicFor, server);

  const write = async (messages: readonly OutgoingMessage[]) => {
    const byTopic = new Map<string, TopicRecords>();
    for (const message of messages) {
      const topic = topicFor(message.attributes.type);
      let entry = byTopic.get(topic);
      if (!entry) {
        entry = { topic, messages: [] };
        byTopic.set(topic, entry);
      }
      entry.messages.push(toRecord(message));
    }
    await kafkaTelemetry.send(produceTarget, messages, async () => {
      if (resolved.topics.autoCreate) await registry.ensure([...byTopic.keys()], defaultSpec);
      await writer.write([...byTopic.values()]);
    });
  };

  const commandsRefused = (what: string) =>
    new CapabilityError(
      `The kafka transport refuses to ${what} commands: a topic cannot give a command a single owner (every consumer group that subscribes gets it). Send commands over a queue transport such as @eda/rabbitmq, or create the Kafka transport with commands: 'allow' if you make sure only the owner's group reads them.`,
    );

  const transport: KafkaTransport = {
    name: 'kafka',
    capabilities: capabilitiesFor(resolved),
    destinationOf: (_kind, type) => ({ system: KAFKA_SYSTEM, name: topicFor(type) }),
    topicFor,
    deadLetterTopicFor,
    retryTopicFor,

    async publish(messages) {
      assertOpen();
      if (!messages.length) return;
      await write(messages);
    },

    async send(messages) {
      assertOpen();
      if (resolved.commands === 'refuse') throw commandsRefused('send');
      if (!messages.length) return;
      await write(messages);
    },

    async subscribe(subscribeOptions, handler) {
      assertOpen();
      const { name, kind, types, startAt = 'earliest', concurrency = 1 } = subscribeOptions;
      if (kind === 'command' && resolved.commands === 'refuse') throw commandsRefused('consume');
      if (!name)
        throw new ConfigurationError(
          'Kafka transport subscribe() needs a name: it is the consumer group.',
        );
      if (!types.length)
        throw new ConfigurationError(`Kafka subscription "${name}" names no message types.`);
      if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
        throw new ConfigurationError(
          `Kafka subscription "${name}" concurrency is ${concurrency}: use an integer >= 1 (records in flight at once for this member; one key is always handled in order).`,
        );
      }
      if (startAt !== 'earliest' && startAt !== 'latest') {
        throw new ConfigurationError(
          `Kafka subscription "${name}" startAt is "${String(startAt)}": use "earliest" or "latest".`,
        );
      }
      if (typeof handler !== 'function')
        throw new ConfigurationError(`Kafka subscription "${name}" needs a delivery handler.`);
      const topics = [...new Set(types.map(topicFor))];
      const retryTopics =
        resolved.retry.mode === 'topics'
          ? Array.from({ length: resolved.retry.tiers }, (_, i) => retryTopicFor(name, i + 1))
          : [];
      const deadLetterTopic = deadLetterTopicFor(name);
      if (resolved.topics.autoCreate)
        await registry.ensure([...topics, ...retryTopics, deadLetterTopic], defaultSpec);
      const subscription = await startSubscription({
        kafka,
        name,
        topics: [...topics, ...retryTopics],
        retryTopics,
        deadLetterTopic,
        startAt,
        concurrency,
        handler,
        writer,
        options: resolved,
        monitor,
        server,
        onClosed: () => subscriptions.delete(subscription),
      });
      if (closed) {
        await subscription.close();
        throw new ClosedError('Kafka transport');
      }
      subscriptions.add(subscription);
      return subscription;
    },

    async ensureTopics(topics, ensureOptions = {}) {
      assertOpen();
      for (const topic of topics) assertTopicName(topic, 'ensureTopics');
      await registry.ensure(topics, {
        partitions: ensureOptions.partitions ?? defaultSpec.partitions,
        replicationFactor: ensureOptions.replicationFactor ?? defaultSpec.replicationFactor,
        config: ensureOptions.config ?? defaultSpec.config,
      });
    },

    async seek(group, topic, target) {
      assertOpen();
      await seekGroup(await adminClient(), group, topic, target);
    },

    async lag(group, topic) {
      assertOpen();
      return groupLag(await adminClient(), group, topic);
    },

    stats() {
      return monitor.stats();
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
      await release();
    },
  };
  const release = async () => {
    await writer.close();
    await admin.close();
  };
  registerKill(transport, async () => {
    closed = true;
    await Promise.all([...subscriptions].map((s) => s.kill()));
    await release();
  });
  return transport;
}
