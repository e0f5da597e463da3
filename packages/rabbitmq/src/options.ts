// Options of the RabbitMQ transport, their defaults, and the checks that reject impossible
// values before anything connects.
import { ConfigurationError } from '@eda/core';
import type { ChannelModel, Options } from 'amqplib';
import type { BackoffOptions } from './backoff.js';

/**
 * Which connection is being opened: the transport's publishes and consumers use separate ones;
 * the dead-letter admin (`createRabbitMqDeadLetterAdmin`) opens one of its own.
 */
export type ConnectionPurpose = 'publish' | 'consume' | 'admin';

/** RabbitMQ queue types this adapter declares. */
export type QueueType = 'quorum' | 'classic';

/** Options of `createRabbitMqTransport`. Give `url` or `connect`. */
export interface RabbitMqTransportOptions {
  /**
   * Where to connect: an AMQP URL such as `amqp://guest:guest@127.0.0.1:5672` or amqplib's
   * connect options object. The transport opens (and closes) its own connections with it.
   */
  readonly url?: string | Options.Connect;
  /** Socket options passed to amqplib's `connect` with `url` (TLS files, timeouts). @default {} */
  readonly socketOptions?: Record<string, unknown>;
  /**
   * Opens a connection, instead of `url`. Called once per connection the transport needs (one for
   * publishing, one for consuming; the dead-letter admin asks for one `admin` connection) and
   * again after each loss. The transport owns and closes what it returns.
   */
  readonly connect?: (purpose: ConnectionPurpose) => Promise<ChannelModel>;
  /** Shown in RabbitMQ's connection list (`rabbitmqctl list_connections client_properties`). @default 'eda' */
  readonly connectionName?: string;
  /** The topic exchange events are published to, routed by event type. @default 'eda.events' */
  readonly exchange?: string;
  /**
   * The routing key of an event type on the exchange; subscriptions bind the keys of their types.
   * Map several types to one key to make a subscription to one of them receive them all.
   * @default the type name
   */
  readonly routingKeyFor?: (type: string) => string;
  /** The queue that owns a command type. Map several types to one queue to share it. @default the type name */
  readonly queueFor?: (type: string) => string;
  /** The queue of an event subscription (consumer group). @default `${name}.events` */
  readonly subscriptionQueueFor?: (name: string) => string;
  /** The dead-letter queue of a subscription (for its events and its commands). @default `${name}.dead-letter` */
  readonly deadLetterQueueFor?: (name: string) => string;
  /**
   * Type of the work and dead-letter queues. Quorum queues are replicated, durable and count
   * redeliveries (`x-delivery-count`); classic queues only say whether a message was redelivered.
   * @default 'quorum'
   */
  readonly queueType?: QueueType;
  /**
   * Unacknowledged messages the broker may push to one subscription (AMQP prefetch). More than
   * the subscription's concurrency buffers messages locally, which is faster but holds them back
   * from competing consumers.
   * @default the subscription's concurrency
   */
  readonly prefetch?: number;
  /** Publishes awaiting a broker confirm at once on the publishing channel. @default 256 */
  readonly publishWindow?: number;
  /**
   * How long a publish may wait (for a connection, a window slot and the confirm, retries after a
   * connection loss included) before it rejects with UnavailableError.
   * @default 30000
   */
  readonly publishTimeoutMs?: number;
  /**
   * Holding-queue delays for delayed retries, in milliseconds. A retry delay is rounded up to the
   * next bucket (a longer delay than the longest bucket uses the longest).
   * @default [100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000]
   */
  readonly delayBucketsMs?: readonly number[];
  /** Retry delay used when a delivery handler throws instead of returning a disposition. @default 1000 */
  readonly thrownErrorRetryDelayMs?: number;
  /**
   * Publish events `mandatory`, so that an event no subscription is bound to is an error.
   * Off by default because an event with no subscribers is normal.
   * @default false
   */
  readonly mandatoryEvents?: boolean;
  /** How long `subscribe` waits for a connection before it rejects with UnavailableError. @default 30000 */
  readonly subscribeTimeoutMs?: number;
  /** Delays between reconnect attempts. @default { initialDelayMs: 100, maxDelayMs: 5000, multiplier: 2, jitter: 0.3 } */
  readonly reconnect?: BackoffOptions;
  /**
   * Told about background failures: a lost connection, a failed reconnect, a settlement that
   * could not be published (the message is then requeued). The transport keeps running.
   * @default no-op
   */
  readonly onError?: (error: unknown) => void;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly open: (purpose: ConnectionPurpose) => Promise<ChannelModel>;
  readonly exchange: string;
  readonly routingKeyFor: (type: string) => string;
  readonly queueFor: (type: string) => string;
  readonly subscriptionQueueFor: (name: string) => string;
  readonly deadLetterQueueFor: (name: string) => string;
  readonly queueType: QueueType;
  readonly prefetch: number | undefined;
  readonly publishWindow: number;
  readonly publishTimeoutMs: number;
  readonly delayBucketsMs: readonly number[];
  readonly thrownErrorRetryDelayMs: number;
  readonly mandatoryEvents: boolean;
  readonly subscribeTimeoutMs: number;
  readonly reconnect: Required<BackoffOptions>;
  readonly onError: (error: unknown) => void;
}

export const DEFAULT_DELAY_BUCKETS_MS: readonly number[] = [
  100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000,
  3_600_000,
];

function fail(message: string): never {
  throw new ConfigurationError(`RabbitMQ transport: ${message}`);
}

function integer(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min)
    fail(`option ${name} is ${value}: use an integer >= ${min}.`);
  return value;
}

/**
 * Applies defaults and rejects impossible options.
 * @throws ConfigurationError naming the option and what to use instead.
 */
export function resolveOptions(
  options: RabbitMqTransportOptions,
  connectWithUrl: (
    url: string | Options.Connect,
    socketOptions: Record<string, unknown>,
  ) => Promise<ChannelModel>,
): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    fail('createRabbitMqTransport needs options: { url: "amqp://..." } or { connect }.');
  const { url, connect, connectionName = 'eda' } = options;
  if (url !== undefined && connect !== undefined) fail('give either url or connect, not both.');
  if (url === undefined && connect === undefined)
    fail('give url (such as "amqp://guest:guest@127.0.0.1:5672") or a connect function.');
  if (url !== undefined && (typeof url !== 'string' || !url) && typeof url !== 'object')
    fail('url must be a non-empty AMQP URL string or amqplib connect options.');
  if (connect !== undefined && typeof connect !== 'function')
    fail('connect must be a function returning a promise of an amqplib connection.');
  const exchange = options.exchange ?? 'eda.events';
  if (typeof exchange !== 'string' || !exchange || exchange.startsWith('amq.'))
    fail(
      `exchange "${exchange}" cannot be used: give a non-empty name that does not start with "amq." (reserved by RabbitMQ).`,
    );
  const queueType = options.queueType ?? 'quorum';
  if (queueType !== 'quorum' && queueType !== 'classic')
    fail(`queueType "${queueType}" is unknown: use "quorum" or "classic".`);
  const prefetch =
    options.prefetch === undefined ? undefined : integer('prefetch', options.prefetch, 1);
  if (prefetch !== undefined && prefetch > 65_535)
    fail(`option prefetch is ${prefetch}: AMQP allows at most 65535.`);
  const publishWindow = integer('publishWindow', options.publishWindow ?? 256, 1);
  const publishTimeoutMs = integer('publishTimeoutMs', options.publishTimeoutMs ?? 30_000, 1);
  const subscribeTimeoutMs = integer('subscribeTimeoutMs', options.subscribeTimeoutMs ?? 30_000, 1);
  const thrownErrorRetryDelayMs = integer(
    'thrownErrorRetryDelayMs',
    options.thrownErrorRetryDelayMs ?? 1000,
    0,
  );
  const buckets = [...(options.delayBucketsMs ?? DEFAULT_DELAY_BUCKETS_MS)];
  if (!buckets.length) fail('delayBucketsMs is empty: give at least one delay in milliseconds.');
  for (const bucket of buckets) integer('delayBucketsMs[]', bucket, 1);
  buckets.sort((a, b) => a - b);
  const reconnect = {
    initialDelayMs: integer(
      'reconnect.initialDelayMs',
      options.reconnect?.initialDelayMs ?? 100,
      1,
    ),
    maxDelayMs: integer('reconnect.maxDelayMs', options.reconnect?.maxDelayMs ?? 5000, 1),
    multiplier: options.reconnect?.multiplier ?? 2,
    jitter: options.reconnect?.jitter ?? 0.3,
  };
  if (!(reconnect.multiplier >= 1))
    fail(`option reconnect.multiplier is ${reconnect.multiplier}: use a number >= 1.`);
  if (!(reconnect.jitter >= 0 && reconnect.jitter <= 1))
    fail(`option reconnect.jitter is ${reconnect.jitter}: use a number from 0 to 1.`);
  if (reconnect.maxDelayMs < reconnect.initialDelayMs)
    fail('option reconnect.maxDelayMs is below reconnect.initialDelayMs.');
  const socketOptions = options.socketOptions ?? {};
  const open =
    connect ??
    ((purpose: ConnectionPurpose) =>
      connectWithUrl(url!, {
        ...socketOptions,
        clientProperties: {
          ...(socketOptions.clientProperties as Record<string, unknown> | undefined),
          connection_name: `${connectionName}:${purpose}`,
        },
      }));
  return {
    open,
    exchange,
    routingKeyFor: options.routingKeyFor ?? ((type) => type),
    queueFor: options.queueFor ?? ((type) => type),
    subscriptionQueueFor: options.subscriptionQueueFor ?? ((name) => `${name}.events`),
    deadLetterQueueFor: options.deadLetterQueueFor ?? ((name) => `${name}.dead-letter`),
    queueType,
    prefetch,
    publishWindow,
    publishTimeoutMs,
    delayBucketsMs: buckets,
    thrownErrorRetryDelayMs,
    mandatoryEvents: options.mandatoryEvents ?? false,
    subscribeTimeoutMs,
    reconnect,
    onError: options.onError ?? (() => undefined),
  };
}
