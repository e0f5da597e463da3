// The AMQP form of a message: CloudEvents attributes as `cloudEvents_` application headers
// (there is no AMQP 0-9-1 binding; the AMQP 1.0 binding allows `cloudEvents_` or `cloudEvents:`
// and prefers `_`, which JMS selectors accept), the data as the body, `datacontenttype` as the
// content-type property, the id as message-id, persistent.
import type { OutgoingMessage } from '@eda/core';
import type { Delivery, MessagingServer } from '@eda/core/adapter';
import { fromBinaryHeaders, toBinaryHeaders, traceHeadersOf } from '@eda/core/adapter';
import type { ConsumeMessage, Message, Options } from 'amqplib';
import { RABBITMQ_SYSTEM } from './telemetry.js';

/**
 * Header prefix of envelope attributes, as written. Received messages may use this or the
 * binding's other separator, `cloudEvents:`; both are read (case-insensitively).
 */
export const ATTRIBUTE_PREFIX = 'cloudEvents_';
/** Both prefixes the binding allows, lower-cased once here rather than for every header. */
const READ_PREFIXES_LOWER = new Set(['cloudevents_', 'cloudevents:']);
/** Deliveries this message had before the current copy was published (delayed retries). */
export const ATTEMPT_HEADER = 'x-eda-attempt';
/** Why the last delivery was retried. */
export const RETRY_REASON_HEADER = 'x-eda-retry-reason';

/** Headers the broker sets on delivery; a republished copy must not carry them over. */
export const BROKER_HEADERS: ReadonlySet<string> = new Set([
  'x-death',
  'x-delivery-count',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  // RabbitMQ 3.13 and later.
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  // RabbitMQ 4 quorum queues.
  'x-acquired-count',
]);

/** The body as a Buffer without copying. */
export function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** amqplib publish options of an outgoing message. */
export function toPublishOptions(message: OutgoingMessage, mandatory: boolean): Options.Publish {
  const { attributes } = message;
  const headers: Record<string, string> = toBinaryHeaders(attributes, { prefix: ATTRIBUTE_PREFIX });
  delete headers[`${ATTRIBUTE_PREFIX}datacontenttype`];
  const traceHeaders = traceHeadersOf(message);
  if (traceHeaders) Object.assign(headers, traceHeaders);
  return {
    persistent: true,
    mandatory,
    messageId: attributes.id,
    type: attributes.type,
    ...(attributes.datacontenttype === undefined
      ? {}
      : { contentType: attributes.datacontenttype }),
    ...(attributes.correlationid === undefined ? {} : { correlationId: attributes.correlationid }),
    headers,
  };
}

/** A header value as text, or undefined for values that cannot be an attribute. */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return undefined;
}

export function nonNegativeInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : Number(headerText(value));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Deliveries before this copy: our own header, else the broker's `x-death` counts (a message
 * that the broker dead-lettered or expired back into the queue without passing through us).
 */
function priorAttempts(headers: Record<string, unknown>): number {
  const own = nonNegativeInteger(headers[ATTEMPT_HEADER]);
  if (own !== undefined) return own;
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths)) return 0;
  let total = 0;
  for (const death of deaths)
    total += nonNegativeInteger((death as { count?: unknown })?.count) ?? 0;
  return total;
}

/** The envelope attributes of a received message: its `cloudEvents_` headers and content type. */
export function attributesOf(message: Message): Record<string, string> {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // Both prefixes have the same length: a `cloudEvents:` name is read under ours.
    if (!READ_PREFIXES_LOWER.has(name.slice(0, ATTRIBUTE_PREFIX.length).toLowerCase())) continue;
    const value_ = headerText(value);
    if (value_ !== undefined) text[ATTRIBUTE_PREFIX + name.slice(ATTRIBUTE_PREFIX.length)] = value_;
  }
  const attributes = fromBinaryHeaders(text, { prefix: ATTRIBUTE_PREFIX });
  const contentType = message.properties.contentType as unknown;
  if (typeof contentType === 'string' && contentType) attributes.datacontenttype = contentType;
  return attributes;
}

/**
 * The delivery core's pipeline reads. `attempt` counts every delivery: earlier copies (delayed
 * retries), plus redeliveries of this copy from quorum queues' `x-delivery-count`, or from the
 * `redelivered` flag on classic queues (which cannot tell a second redelivery from the first).
 */
export function toDelivery(
  message: ConsumeMessage,
  destination: string,
  server?: MessagingServer,
): Delivery {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const attributes = attributesOf(message);
  const deliveryCount = nonNegativeInteger(headers['x-delivery-count']);
  const redeliveries = deliveryCount ?? (message.fields.redelivered ? 1 : 0);
  return {
    attributes,
    body: message.content,
    attempt: priorAttempts(headers) + redeliveries + 1,
    origin: { destination },
    system: RABBITMQ_SYSTEM,
    header: (name) => headerText(headers[name]),
    spanAttributes: () => ({
      'messaging.rabbitmq.message.delivery_tag': message.fields.deliveryTag,
      'messaging.rabbitmq.destination.routing_key': message.fields.routingKey,
      ...(server ? { 'server.address': server.address } : {}),
      ...(server?.port === undefined ? {} : { 'server.port': server.port }),
    }),
  };
}

/**
 * Options of a copy of a received message (for a delayed retry or the dead-letter queue): the
 * same properties and headers, minus what the broker adds on delivery, plus `extra` headers.
 */
export function copyOptions(
  message: Message,
  extra: Record<string, string | number>,
): Options.Publish {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.properties.headers ?? {}))
    if (!BROKER_HEADERS.has(name)) headers[name] = value;
  Object.assign(headers, extra);
  return republishOptions(message, headers);
}

/**
 * Options of a copy of a received message with exactly `headers`: its id, type, content type and
 * the other properties a publisher sets, persistent and `mandatory` (a copy that reaches no
 * queue is an error, not a loss).
 */
export function republishOptions(
  message: Message,
  headers: Record<string, unknown>,
): Options.Publish {
  const { properties } = message;
  const optional = {
    contentType: properties.contentType as unknown,
    contentEncoding: properties.contentEncoding as unknown,
    messageId: properties.messageId as unknown,
    correlationId: properties.correlationId as unknown,
    type: properties.type as unknown,
    appId: properties.appId as unknown,
    timestamp: properties.timestamp as unknown,
  };
  const options: Record<string, unknown> = { persistent: true, mandatory: true, headers };
  for (const [name, value] of Object.entries(optional))
    if (value !== undefined && value !== null) options[name] = value;
  return options as Options.Publish;
}
