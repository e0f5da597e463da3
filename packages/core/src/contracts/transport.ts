// The transport contract: what a broker adapter implements. Policy (decode, retries, dedupe,
// context) lives in core's pipelines; a transport moves bytes and settles deliveries as told.
import type { EnvelopeAttributes, MessageKind } from '../envelope.js';

/** What a transport can do. The contract suites read these: a case needing a missing capability is skipped with its reason, a claimed one must hold. */
export interface TransportCapabilities {
  /** `publish` of events to topics with zero or more subscriptions. */
  readonly events: boolean;
  /** `send` of commands to one owning queue, each message handled by exactly one consumer. */
  readonly commands: boolean;
  /**
   * Events with the same partition key are handled in publish order, one at a time, whatever the
   * subscription's concurrency. Applies to events (a partitioned log): commands on a queue with
   * competing consumers carry no order promise on any transport.
   */
  readonly orderedPerKey: boolean;
  /** Every subscription name (consumer group) gets every event; members of one group share them. */
  readonly consumerGroups: boolean;
  /** Several consumers of one queue or group share its messages, each message to one of them. */
  readonly competingConsumers: boolean;
  /** A subscription can start from the earliest retained message or seek back. */
  readonly replay: boolean;
  /**
   * `retry` dispositions are redelivered after their delay, with `attempt` counting up. On a log
   * the retry may block its partition (blocking retry) or go through retry topics.
   */
  readonly delayedRetry: boolean;
  /** `dead-letter` dispositions land in an inspectable dead-letter destination. */
  readonly deadLetter: boolean;
  /** Messages survive a restart of the client process. */
  readonly persistent: boolean;
}

/** A message ready for the wire: checked attributes and the encoded data. */
export interface OutgoingMessage {
  readonly attributes: EnvelopeAttributes;
  /** The encoded data (empty when there is none, or when `dataref` points to it). */
  readonly body: Uint8Array;
  /**
   * Trace propagation headers (such as `traceparent`, `tracestate`, `baggage`, `b3`) that the
   * configured OpenTelemetry propagator wrote when the message was created. A transport writes
   * `traceHeadersOf(message)` (from `@eda/core/adapter`) next to the attribute headers; that
   * also covers messages read back from an outbox store, which keeps only the envelope.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Where a transport writes a message: what `create` and `send` spans are named after. */
export interface MessagingDestination {
  /** `messaging.system`: `kafka`, `rabbitmq`, `eda_memory`. */
  readonly system: string;
  /** The topic, exchange or queue the message is written to. */
  readonly name: string;
}

/** Where a delivery came from, for logs, dead-letter headers and tracing. */
export interface DeliveryOrigin {
  /** The topic or queue the message was read from. */
  readonly destination: string;
  readonly partition?: number;
  /** The log offset as a decimal string, where the transport has offsets. */
  readonly offset?: string;
}

/** A message as received, before core decodes it. */
export interface Delivery {
  /**
   * Attribute strings as read from the transport's headers (unchecked; core parses them and
   * dead-letters the message when they are invalid).
   */
  readonly attributes: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** 1 on first delivery; counts redeliveries and delayed retries of this message. */
  readonly attempt: number;
  readonly origin: DeliveryOrigin;
  /** `messaging.system` of the transport that carried the message, such as `kafka`. @default the transport's name */
  readonly system?: string;
  /** Reads a transport header by name, for the OpenTelemetry propagator (`traceparent`, `baggage`, `b3`...). */
  readonly header?: (name: string) => string | undefined;
  /**
   * Span attributes of the transport (`messaging.kafka.offset`, `messaging.rabbitmq.message.delivery_tag`,
   * `messaging.consumer.group.name`, `server.address`...), asked for only while a span records.
   */
  readonly spanAttributes?: () => Readonly<Record<string, string | number | boolean>>;
}

/** Why a message is being dead-lettered; transports store it in headers next to the message. */
export interface DeadLetterReason {
  /** Machine-readable code such as `EDA_DECODE` or `EDA_HANDLER`. */
  readonly code: string;
  /** The error class name. */
  readonly errorType: string;
  readonly message: string;
  /** How many deliveries were attempted. */
  readonly attempts: number;
  /** The subscription that gave up. */
  readonly subscription: string;
}

/** How a delivery is settled. Anything but `ack` keeps the message. */
export type Disposition =
  | { readonly type: 'ack' }
  | {
      readonly type: 'retry';
      readonly delayMs: number;
      readonly reason: string;
      /**
       * The message was not processed for a reason outside it (another consumer holds its
       * dedupe claim): the redelivery after `delayMs` keeps the same `attempt`, so waiting does
       * not spend the retry budget. Every transport with `delayedRetry` honours it.
       */
      readonly deferred?: boolean;
    }
  | { readonly type: 'dead-letter'; readonly reason: DeadLetterReason };

/**
 * Handles one delivery and says how to settle it. A transport treats a thrown error or a
 * rejected promise like `retry` (never like `ack`).
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<Disposition>;

/** What to consume. */
export interface SubscribeOptions {
  /** Consumer group (events) or owning service (commands). Members with the same name share the work. */
  readonly name: string;
  /** event: read the topics of `types`; command: read the owning queue of each of `types`. */
  readonly kind: MessageKind;
  /** Message type names whose destinations to read. */
  readonly types: readonly string[];
  /** Where a new consumer group starts. @default 'earliest' */
  readonly startAt?: 'earliest' | 'latest';
  /** Deliveries processed at once by this member (for events, order per key is kept regardless). @default 1 */
  readonly concurrency?: number;
}

/** A running subscription. */
export interface Subscription {
  /** Stops fetching, waits for in-flight deliveries to be settled, then leaves. */
  close(): Promise<void>;
}

/** A broker adapter. */
export interface Transport {
  /** Adapter name for errors and logs, such as `kafka` or `memory`. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /**
   * Where a message of this kind and type is written, for span names and metrics (the topic
   * after `topicFor`, the exchange, the queue). Without it core names the message type and the
   * transport's `name`.
   */
  destinationOf?(kind: MessageKind, type: string): MessagingDestination;
  /**
   * Appends events to their topics. Resolves only when the broker has accepted every message
   * (acks, confirms); rejects otherwise, and then some of them may or may not have been stored.
   * @throws CapabilityError when the transport has no events.
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Delivers commands to the owning queue of their type, with the same acceptance rule as `publish`.
   * @throws CapabilityError when the transport cannot give a command a single owner.
   */
  send(messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Starts consuming. The handler's disposition settles each delivery; a delivery is never
   * acknowledged before the handler resolved with `ack` or `dead-letter`.
   * @throws CapabilityError for a kind the transport does not support; ConfigurationError when a
   * command queue already has another owner.
   */
  subscribe(options: SubscribeOptions, handler: DeliveryHandler): Promise<Subscription>;
  /** Closes every subscription (as `Subscription.close`) and releases connections the transport owns. */
  close(): Promise<void>;
}
