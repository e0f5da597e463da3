// The RabbitMQ transport: events to a topic exchange (one queue per subscription, bound by
// type), commands to the one queue that owns their type, confirmed publishes, delayed retries
// through TTL holding queues, dead-letter queues, and reconnects that lose nothing.
import {
  CapabilityError,
  ClosedError,
  ConfigurationError,
  type MessageKind,
  type OutgoingMessage,
  type Subscription,
  type Transport,
} from '@eda/core';
import type {
  DeliveryHandler,
  SendTarget,
  SubscribeOptions,
  TransportCapabilities,
} from '@eda/core/adapter';
import { connect as amqpConnect, type ChannelModel, type Options } from 'amqplib';
import { ConfirmPublisher } from './confirm-publisher.js';
import { ConnectionKeeper } from './connection-keeper.js';
import { toBuffer, toPublishOptions } from './message-mapping.js';
import { type RabbitMqTransportOptions, resolveOptions } from './options.js';
import { SubscriptionConsumer } from './subscription-consumer.js';
import { RABBITMQ_SYSTEM, rabbitTelemetry, serverOf } from './telemetry.js';
import {
  declareDeadLetterQueue,
  declareDelayBucket,
  declareEventsExchange,
  declareWorkQueue,
  delayBucketFor,
  delayQueueName,
} from './topology.js';

/** What RabbitMQ gives: queues, not logs (no replay, no order per key across retries). */
export const rabbitMqCapabilities: TransportCapabilities = {
  events: true,
  commands: true,
  orderedPerKey: false,
  consumerGroups: true,
  competingConsumers: true,
  replay: false,
  delayedRetry: true,
  deadLetter: true,
  persistent: true,
};

/** Names of what the transport declares, for inspection (dead letters) and cleanup. */
export interface RabbitMqNames {
  /** The topic exchange of events. */
  readonly exchange: string;
  /** The queue that owns a command type. */
  commandQueue(type: string): string;
  /** The queue of an event subscription. */
  subscriptionQueue(name: string): string;
  /** The dead-letter queue of a subscription. */
  deadLetterQueue(name: string): string;
  /** Every delay bucket's exchange and holding queue (they share the name). */
  delayQueues(): readonly string[];
}

/** The RabbitMQ transport. */
export interface RabbitMqTransport extends Transport {
  readonly names: RabbitMqNames;
}

/** Opens a connection with amqplib from `url` (what `resolveOptions` calls without `connect`). */
export const connectWithUrl = (
  url: string | Options.Connect,
  socketOptions: Record<string, unknown>,
) => amqpConnect(url, socketOptions) as Promise<ChannelModel>;

/**
 * Creates the transport. Nothing connects until the first publish or subscribe.
 *
 * Guarantees: `publish`/`send` resolve only after RabbitMQ confirmed every message; an
 * unroutable command is an UnroutableMessageError; a message whose confirm never came is
 * published again after a reconnect or rejected at its deadline, never dropped silently. A
 * delivery is acked only after its handler returned `ack`, or after its retry copy or
 * dead-letter copy was confirmed.
 *
 * @throws ConfigurationError for impossible options.
 */
export function createRabbitMqTransport(options: RabbitMqTransportOptions): RabbitMqTransport {
  const resolved = resolveOptions(options, connectWithUrl);
  const { exchange, queueType, onError } = resolved;
  const publishKeeper = new ConnectionKeeper('publish', resolved.open, resolved.reconnect, onError);
  let consumeKeeper: ConnectionKeeper | undefined;
  const publisher = new ConfirmPublisher(publishKeeper, {
    window: resolved.publishWindow,
    timeoutMs: resolved.publishTimeoutMs,
    backoff: resolved.reconnect,
    prepare: (channel) => declareEventsExchange(channel, exchange),
    onError,
  });
  const consumers = new Set<SubscriptionConsumer>();
  const delayBuckets = new Map<number, Promise<string>>();
  let closed = false;

  const names: RabbitMqNames = {
    exchange,
    commandQueue: resolved.queueFor,
    subscriptionQueue: resolved.subscriptionQueueFor,
    deadLetterQueue: resolved.deadLetterQueueFor,
    delayQueues: () => resolved.delayBucketsMs.map((bucket) => delayQueueName(exchange, bucket)),
  };

  const assertOpen = () => {
    if (closed) throw new ClosedError('RabbitMQ transport');
  };

  /** Declares a delay bucket once (again after a failure) on a short-lived channel. */
  const delayBucket = (bucketMs: number): Promise<string> => {
    let declared = delayBuckets.get(bucketMs);
    if (!declared) {
      declared = (async () => {
        const connection = await publishKeeper.ready(
          AbortSignal.timeout(resolved.publishTimeoutMs),
        );
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        try {
          return await declareDelayBucket(channel, exchange, bucketMs, queueType);
        } finally {
          await channel.close().catch(() => undefined);
        }
      })();
      delayBuckets.set(bucketMs, declared);
      declared.catch(() => delayBuckets.delete(bucketMs));
    }
    return declared;
  };

  const retryTarget = async (queue: string, delayMs: number, round: 'up' | 'down' = 'up') => {
    // No delay: straight back to the work queue, behind what is already waiting there.
    if (!(delayMs > 0)) return { exchange: '', routingKey: queue };
    const bucket = await delayBucket(delayBucketFor(resolved.delayBucketsMs, delayMs, round));
    return { exchange: bucket, routingKey: queue };
  };

  const server = serverOf(options.url);
  const publishAll = async (
    target: SendTarget,
    messages: readonly OutgoingMessage[],
    route: (message: OutgoingMessage) => {
      exchange: string;
      routingKey: string;
      mandatory: boolean;
    },
  ) => {
    assertOpen();
    await rabbitTelemetry.send(target, messages, async () => {
      const results = await Promise.allSettled(
        messages.map((message) => {
          const { exchange: destination, routingKey, mandatory } = route(message);
          return publisher.publish({
            exchange: destination,
            routingKey,
            content: toBuffer(message.body),
            options: toPublishOptions(message, mandatory),
          });
        }),
      );
      for (const result of results) if (result.status === 'rejected') throw result.reason;
    });
  };

  // Events are written to the exchange (routed by type), commands to their owning queue.
  const destinationOf = (kind: MessageKind, type: string) =>
    kind === 'event' ? exchange : resolved.queueFor(type);
  const sendTargetOf = (kind: MessageKind, operationName: string): SendTarget => ({
    system: RABBITMQ_SYSTEM,
    operationName,
    destinationOf: (message) => destinationOf(kind, message.attributes.type),
    server,
    messageAttributes: (message) => ({
      'messaging.rabbitmq.destination.routing_key':
        kind === 'event'
          ? resolved.routingKeyFor(message.attributes.type)
          : resolved.queueFor(message.attributes.type),
    }),
  });
  const eventTarget = sendTargetOf('event', 'publish');
  const commandTarget = sendTargetOf('command', 'send');

  const explainPrecondition =
    (name: string, kind: 'event' | 'command', queues: readonly string[]) =>
    (error: Error): ConfigurationError => {
      const text = error.message;
      const owner = /x-dead-letter-routing-key' for queue '([^']*)'.*current is '([^']*)'/.exec(
        text,
      );
      if (kind === 'command' && owner) {
        const [, queue, otherDeadLetter] = owner;
        const other = otherDeadLetter!.replace(/\.dead-letter$/, '');
        const otherName =
          resolved.deadLetterQueueFor(other) === otherDeadLetter
            ? `"${other}"`
            : `the service whose dead-letter queue is "${otherDeadLetter}"`;
        return new ConfigurationError(
          `RabbitMQ transport: command queue "${queue}" is owned by ${otherName}: a command has exactly one owner, so "${name}" cannot consume it. Send the command to ${otherName} instead, or map the type to another queue with queueFor.`,
          { cause: error },
        );
      }
      return new ConfigurationError(
        `RabbitMQ transport: RabbitMQ refused the queues of subscription "${name}" (${queues.join(', ')}): ${text}. A queue of that name exists with other settings (queue type, dead-letter queue); delete it or change the names.`,
        { cause: error },
      );
    };

  return {
    name: 'rabbitmq',
    capabilities: rabbitMqCapabilities,
    names,
    destinationOf: (kind, type) => ({ system: RABBITMQ_SYSTEM, name: destinationOf(kind, type) }),

    publish(messages) {
      return publishAll(eventTarget, messages, (message) => ({
        exchange,
        routingKey: resolved.routingKeyFor(message.attributes.type),
        mandatory: resolved.mandatoryEvents,
      }));
    },

    send(messages) {
      return publishAll(commandTarget, messages, (message) => ({
        exchange: '',
        routingKey: resolved.queueFor(message.attributes.type),
        mandatory: true,
      }));
    },

    async subscribe(subscribeOptions: SubscribeOptions, handler: DeliveryHandler) {
      assertOpen();
      const { name, kind, types, concurrency = 1 } = subscribeOptions;
      if (!name || typeof name !== 'string')
        throw new ConfigurationError(
          'RabbitMQ transport: subscribe() needs a name: the consumer group (events) or owning service (commands).',
        );
      if (kind !== 'event' && kind !== 'command')
        throw new CapabilityError(
          `RabbitMQ transport: subscription "${name}" has kind "${String(kind)}": use "event" or "command".`,
        );
      if (!types?.length)
        throw new ConfigurationError(
          `RabbitMQ transport: subscription "${name}" names no message types.`,
        );
      if (!Number.isSafeInteger(concurrency) || concurrency < 1)
        throw new ConfigurationError(
          `RabbitMQ transport: subscription "${name}" concurrency is ${concurrency}: use an integer >= 1.`,
        );
      if (typeof handler !== 'function')
        throw new ConfigurationError(
          `RabbitMQ transport: subscription "${name}" needs a delivery handler function.`,
        );
      const deadLetterQueue = resolved.deadLetterQueueFor(name);
      const queues =
        kind === 'event'
          ? [resolved.subscriptionQueueFor(name)]
          : [...new Set(types.map(resolved.queueFor))];
      const declare = async (channel: Parameters<typeof declareWorkQueue>[0]) => {
        await declareDeadLetterQueue(channel, deadLetterQueue, queueType);
        for (const queue of queues)
          await declareWorkQueue(channel, queue, deadLetterQueue, queueType);
        if (kind === 'event') {
          await declareEventsExchange(channel, exchange);
          for (const key of new Set(types.map(resolved.routingKeyFor)))
            await channel.bindQueue(queues[0]!, exchange, key);
        }
      };
      consumeKeeper ??= new ConnectionKeeper('consume', resolved.open, resolved.reconnect, onError);
      const consumer = new SubscriptionConsumer({
        name,
        queues,
        deadLetterQueue,
        declare,
        explainPrecondition: explainPrecondition(name, kind, queues),
        prefetch: resolved.prefetch ?? concurrency,
        concurrency,
        handler,
        keeper: consumeKeeper,
        publisher,
        retryTarget,
        retryTargetFailed: (target) => {
          // A holding queue or exchange deleted behind our back is declared again next time.
          for (const bucket of delayBuckets.keys())
            if (delayQueueName(exchange, bucket) === target) delayBuckets.delete(bucket);
        },
        thrownErrorRetryDelayMs: resolved.thrownErrorRetryDelayMs,
        startTimeoutMs: resolved.subscribeTimeoutMs,
        backoff: resolved.reconnect,
        onError,
        server,
      });
      await consumer.start();
      if (closed) {
        // The transport closed while this subscription was starting: close() did not see it.
        await consumer.close();
        throw new ClosedError('RabbitMQ transport');
      }
      consumers.add(consumer);
      return {
        async close() {
          if (!consumers.delete(consumer)) return;
          await consumer.close();
        },
      } satisfies Subscription;
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((consumer) => consumer.close()));
      consumers.clear();
      await publisher.close();
      await Promise.all([publishKeeper.close(), consumeKeeper?.close()]);
    },
  };
}
