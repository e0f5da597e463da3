// Spans and metrics for what a transport does on the wire: a `send` span per publish call,
// linked to every message's creation context, and a `settle` span per ack, nack, retry copy,
// dead letter or offset commit. Adapters call these so none of them re-invents the attributes.
import { type Attributes, context, type Link, SpanKind, trace } from '@opentelemetry/api';
import type { Delivery, OutgoingMessage } from '../contracts/transport.js';
import { settleParentOf } from '../tracing.js';
import { spanContextOf } from './creation-context.js';
import {
  type InstrumentationScope,
  instrumentsFor,
  secondsSince,
  telemetrySkipped,
  tracerFor,
} from './instruments.js';
import { runInSpan } from './run-in-span.js';

/** Attribute values a transport reports. */
export type TelemetryAttributes = Readonly<Record<string, string | number | boolean>>;

/** The broker a transport talks to (`server.address`, `server.port`). */
export interface MessagingServer {
  readonly address: string;
  readonly port?: number;
}

/** One publish call of a transport. */
export interface SendTarget {
  /** `messaging.system`. */
  readonly system: string;
  /** `messaging.operation.name`, such as `send` or `publish`. @default 'send' */
  readonly operationName?: string;
  /** The destination each message is written to (topic, exchange or queue). */
  readonly destinationOf: (message: OutgoingMessage) => string;
  readonly server?: MessagingServer | undefined;
  /** System-specific attributes of a single-message send (`messaging.kafka.message.key`...). */
  readonly messageAttributes?: (message: OutgoingMessage) => TelemetryAttributes;
}

/** One settlement of one delivery or of a batch (an offset commit). */
export interface SettleTarget {
  readonly system: string;
  /** `messaging.operation.name`: `ack`, `nack`, `retry`, `dead_letter`, `commit`... */
  readonly operationName: string;
  /** The destination the delivery was read from (and the span name's). */
  readonly destination: string;
  /** Kafka's consumer group (`messaging.consumer.group.name`); leave out where groups do not apply. */
  readonly consumerGroup?: string;
  /** Messages settled at once: sets `messaging.batch.message_count` when above 1. */
  readonly messageCount?: number;
  readonly server?: MessagingServer | undefined;
  readonly attributes?: TelemetryAttributes;
}

/** The send and settle instrumentation of one adapter package. */
export interface MessagingTelemetry {
  /**
   * Runs one publish call in a CLIENT span `send <destination>` (`send` alone when the
   * messages go to several destinations): its context is not the messages' creation context
   * (their `create` spans are), so the conventions make it CLIENT. Links every message's
   * creation context; counts `messaging.client.sent.messages` and times
   * `messaging.client.operation.duration`, with `error.type` when `fn` rejects.
   */
  send<T>(
    target: SendTarget,
    messages: readonly OutgoingMessage[],
    fn: () => Promise<T>,
  ): Promise<T>;
  /**
   * Runs a settlement in a CLIENT span `<operation name> <destination>` of operation type
   * `settle`, a child of the delivery's `process` span when there was one, and times it in
   * `messaging.client.operation.duration`.
   */
  settle<T>(
    target: SettleTarget,
    delivery: Delivery | undefined,
    fn: () => T | Promise<T>,
  ): Promise<T>;
  /**
   * Records a consumer's lag on one partition (`eda.kafka.consumer.lag`). `read` is called only
   * while a metrics SDK is registered; it returns undefined when the lag is not known.
   */
  recordLag(read: () => { attributes: TelemetryAttributes; lag: number } | undefined): void;
}

function serverAttributes(server: MessagingServer | undefined): Attributes {
  if (!server) return {};
  return server.port === undefined
    ? { 'server.address': server.address }
    : { 'server.address': server.address, 'server.port': server.port };
}

function creationLinks(messages: readonly OutgoingMessage[]): Link[] {
  const links: Link[] = [];
  for (const message of messages) {
    const spanContext = spanContextOf(
      message.attributes.traceparent,
      message.attributes.tracestate,
    );
    if (spanContext)
      links.push({
        context: spanContext,
        attributes: { 'messaging.message.id': message.attributes.id },
      });
  }
  return links;
}

function singleDestination(
  target: SendTarget,
  messages: readonly OutgoingMessage[],
): string | undefined {
  const first = messages[0] ? target.destinationOf(messages[0]) : undefined;
  for (let i = 1; i < messages.length; i++)
    if (target.destinationOf(messages[i]!) !== first) return undefined;
  return first;
}

/** The send and settle instrumentation of an adapter package (its name and version as the scope). */
export function createMessagingTelemetry(scope: InstrumentationScope): MessagingTelemetry {
  return {
    async send(target, messages, fn) {
      if (telemetrySkipped()) return fn();
      const operationName = target.operationName ?? 'send';
      const destination = singleDestination(target, messages);
      const span = tracerFor(scope).startSpan(
        destination === undefined ? operationName : `${operationName} ${destination}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'messaging.system': target.system,
            'messaging.operation.type': 'send',
            'messaging.operation.name': operationName,
          },
        },
        context.active(),
      );
      if (span.isRecording()) {
        const single = messages.length === 1 ? messages[0] : undefined;
        span.addLinks(creationLinks(messages));
        span.setAttributes({
          ...(destination === undefined ? {} : { 'messaging.destination.name': destination }),
          ...serverAttributes(target.server),
          ...(single
            ? {
                'messaging.message.id': single.attributes.id,
                'messaging.message.body.size': single.body.byteLength,
                ...(single.attributes.correlationid === undefined
                  ? {}
                  : { 'messaging.message.conversation_id': single.attributes.correlationid }),
                ...target.messageAttributes?.(single),
              }
            : { 'messaging.batch.message_count': messages.length }),
        });
      }
      const instruments = instrumentsFor(scope);
      const startedAt = instruments ? performance.now() : 0;
      return runInSpan(
        span,
        span.isRecording() ? trace.setSpan(context.active(), span) : undefined,
        fn,
        (errorType) => {
          if (!instruments) return;
          const base: Attributes = {
            'messaging.system': target.system,
            'messaging.operation.name': operationName,
            ...serverAttributes(target.server),
            ...(errorType === undefined ? {} : { 'error.type': errorType }),
          };
          const counts = new Map<string, number>();
          for (const message of messages) {
            const name = target.destinationOf(message);
            counts.set(name, (counts.get(name) ?? 0) + 1);
          }
          for (const [name, count] of counts)
            instruments.sent.add(count, { ...base, 'messaging.destination.name': name });
          instruments.operationDuration.record(secondsSince(startedAt), {
            ...base,
            'messaging.operation.type': 'send',
            ...(destination === undefined ? {} : { 'messaging.destination.name': destination }),
          });
        },
      );
    },

    async settle(target, delivery, fn) {
      if (telemetrySkipped()) return fn();
      const parent = settleParentOf(delivery);
      const attributes: Attributes = {
        'messaging.system': target.system,
        'messaging.operation.type': 'settle',
        'messaging.operation.name': target.operationName,
        'messaging.destination.name': target.destination,
        ...(target.consumerGroup === undefined
          ? {}
          : { 'messaging.consumer.group.name': target.consumerGroup }),
        ...serverAttributes(target.server),
      };
      const span = tracerFor(scope).startSpan(
        `${target.operationName} ${target.destination}`,
        { kind: SpanKind.CLIENT, attributes },
        parent,
      );
      if (span.isRecording()) {
        span.setAttributes({
          ...(target.messageCount !== undefined && target.messageCount > 1
            ? { 'messaging.batch.message_count': target.messageCount }
            : {}),
          ...(delivery?.attributes.id === undefined
            ? {}
            : { 'messaging.message.id': delivery.attributes.id }),
          ...target.attributes,
        });
      }
      const instruments = instrumentsFor(scope);
      const startedAt = instruments ? performance.now() : 0;
      return runInSpan(
        span,
        span.isRecording() ? trace.setSpan(parent, span) : undefined,
        fn,
        (errorType) => {
          instruments?.operationDuration.record(secondsSince(startedAt), {
            ...attributes,
            ...(errorType === undefined ? {} : { 'error.type': errorType }),
          });
        },
      );
    },

    recordLag(read) {
      const instruments = instrumentsFor(scope);
      const reading = instruments && read();
      if (reading && Number.isFinite(reading.lag))
        instruments.kafkaConsumerLag.record(reading.lag, reading.attributes);
    },
  };
}
