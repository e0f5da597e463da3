// A message read from a dead-letter queue, as the dead-letter admin sees it: its handle, its
// operator's view (reason, attempts, where it came from) and the copy a redrive publishes.
import { createHash } from 'node:crypto';
import type { DeadLetter } from '@eda/core';
import { DEAD_LETTER_HEADERS, deadLetterOf, redriveHeaders } from '@eda/core/adapter';
import type { Message, Options } from 'amqplib';
import {
  ATTEMPT_HEADER,
  attributesOf,
  BROKER_HEADERS,
  headerText,
  RETRY_REASON_HEADER,
  republishOptions,
} from './message-mapping.js';

/**
 * Headers RabbitMQ changes each time a browsed message goes back to its queue (a quorum queue
 * counts every return, a browse included). They are left out of the handle and the view, which
 * would otherwise change from one `list` to the next.
 */
const BROWSE_COUNTERS: ReadonlySet<string> = new Set(['x-delivery-count', 'x-acquired-count']);

/** What a redriven copy drops besides core's reason headers: the broker's and our retry bookkeeping. */
const REDRIVE_DROPS: ReadonlySet<string> = new Set([
  ...BROKER_HEADERS,
  ATTEMPT_HEADER,
  RETRY_REASON_HEADER,
]);

/** How the admin names the queues of a subscription, as the transport does. */
export interface DeadLetterNames {
  readonly queueFor: (type: string) => string;
  readonly subscriptionQueueFor: (name: string) => string;
}

/** A header value as text for the operator: tables and arrays (`x-death`) as JSON. */
function displayText(value: unknown): string {
  const text = headerText(value);
  if (text !== undefined) return text;
  // JSON.stringify hands a Buffer to the replacer as its toJSON() form.
  return JSON.stringify(value, (_key, nested: unknown) =>
    (nested as { type?: unknown } | null)?.type === 'Buffer'
      ? Buffer.from((nested as { data: number[] }).data).toString('utf8')
      : nested,
  );
}

/** The broker's record of its most recent dead-lettering (`x-death` is newest first). */
interface BrokerDeath {
  readonly queue: string;
  readonly reason: string;
  readonly at?: string;
}

function brokerDeathOf(headers: Record<string, unknown>): BrokerDeath | undefined {
  const deaths = headers['x-death'];
  const last = Array.isArray(deaths)
    ? (deaths[0] as { queue?: unknown; reason?: unknown; time?: unknown } | undefined)
    : undefined;
  const queue = headerText(headers['x-last-death-queue']) ?? headerText(last?.queue);
  if (!queue) return undefined;
  const reason = headerText(headers['x-last-death-reason']) ?? headerText(last?.reason) ?? '';
  // amqplib decodes an AMQP timestamp (seconds) as { '!': 'timestamp', value }.
  const seconds = (last?.time as { value?: unknown } | undefined)?.value;
  return {
    queue,
    reason,
    ...(typeof seconds === 'number' ? { at: new Date(seconds * 1000).toISOString() } : {}),
  };
}

/** One dead letter read from the queue, kept unacknowledged while the admin works on it. */
export interface BrowsedDeadLetter {
  readonly message: Message;
  readonly view: DeadLetter;
  /** The queue it was consumed from (the command's or the subscription's own queue), if known. */
  readonly origin: string | undefined;
}

/**
 * The handle: a digest of the message id, every header but the browse counters, and the body.
 * The transport's dead-letter copy carries `x-eda-failed-at`, so the same message dead-lettered
 * twice (redriven, then failing again) gets two handles; two byte-identical copies (a
 * dead-letter publish sent again after a lost confirm) are one dead letter with one handle.
 */
function handleOf(message: Message, text: Record<string, string>): string {
  const hash = createHash('sha256');
  const headers = Object.entries(text).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  hash.update(JSON.stringify([headerText(message.properties.messageId) ?? '', headers]));
  hash.update(message.content);
  return hash.digest('base64url').slice(0, 22);
}

/** Reads a message of `subscription`'s dead-letter queue. */
export function browsedDeadLetter(message: Message, subscription: string): BrowsedDeadLetter {
  const raw = (message.properties.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw))
    if (!BROWSE_COUNTERS.has(name)) headers[name] = displayText(value);
  const handle = handleOf(message, headers);
  const view = deadLetterOf({
    handle,
    subscription,
    headers,
    attributes: attributesOf(message),
    body: message.content,
  });
  const brokerDeath = headers[DEAD_LETTER_HEADERS.code] ? undefined : brokerDeathOf(raw);
  const origin = headers[DEAD_LETTER_HEADERS.destination] || brokerDeath?.queue;
  // The queue it was delivered from (an event's: the subscription's queue bound to the
  // exchange), which is also where a redrive sends it.
  const destination = origin ?? '';
  if (!brokerDeath) return { message, view: { ...view, destination }, origin };
  return {
    message,
    origin,
    view: {
      ...view,
      destination,
      reason: {
        ...view.reason,
        message: `RabbitMQ dead-lettered it from queue "${brokerDeath.queue}" (${brokerDeath.reason || 'no reason given'}) without the transport's reason headers: a queue policy (delivery-limit, message-ttl, max-length) or a reject outside the transport.`,
      },
      ...(view.failedAt === undefined && brokerDeath.at !== undefined
        ? { failedAt: brokerDeath.at }
        : {}),
    },
  };
}

/**
 * Options of the redriven copy: the same id, properties and body; the headers without the
 * dead-letter, retry and broker bookkeeping (a fresh delivery budget) and naming the
 * subscription it is for. Header values keep their AMQP types where they are unchanged.
 */
export function redriveOptions(browsed: BrowsedDeadLetter): Options.Publish {
  const { message, view } = browsed;
  const raw = (message.properties.headers ?? {}) as Record<string, unknown>;
  const next = redriveHeaders(view.headers, view.subscription, view.handle, REDRIVE_DROPS);
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(next))
    headers[name] = name in raw && view.headers[name] === value ? raw[name] : value;
  return republishOptions(message, headers);
}
