// What an operator does with dead letters: list them with their reason, look at one, send it
// back to the subscription that gave up on it (the redrive), or throw it away. Each transport
// keeps dead letters its own way (a Kafka topic, a RabbitMQ queue); this is the one shape tools
// such as the workflow monitor use on all of them.
import type { DeadLetterReason } from './transport.js';

/** One dead-lettered message as an operator sees it. */
export interface DeadLetter {
  /**
   * Names this dead letter in its store, for `get`, `redrive` and `discard` (opaque: a Kafka
   * `partition:offset`, a RabbitMQ message's place). Stable until it is redriven or discarded.
   */
  readonly handle: string;
  /** The subscription (consumer group or queue owner) that gave up on it. */
  readonly subscription: string;
  /** Its CloudEvents attributes as strings (`id`, `type`, `source`, `correlationid`, ...). */
  readonly attributes: Readonly<Record<string, string>>;
  /** Why it was dead-lettered, from the dead-letter headers. */
  readonly reason: DeadLetterReason;
  /**
   * Where it was delivered from: the topic on a log (Kafka), the queue on a queue broker
   * (RabbitMQ: an event's is the subscription's own queue, bound to the exchange).
   */
  readonly destination: string;
  /** When it was dead-lettered (ISO 8601), where recorded. */
  readonly failedAt?: string;
  /** Every header as stored, the reason headers included. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Which dead letters `list` returns. */
export interface DeadLetterListOptions {
  /** Only those with this reason code, such as `EDA_DECODE`. */
  readonly code?: string;
  /** At most this many, oldest first. @default 100 */
  readonly limit?: number;
}

/** Which dead letters of a subscription to redrive. */
export type RedriveSelection =
  | { readonly handles: readonly string[] }
  | { readonly code: string }
  | { readonly all: true };

/**
 * Lists, redrives and discards the dead letters of subscriptions on one transport.
 *
 * A redrive delivers the message again to the subscription that dead-lettered it, and to no
 * other: it keeps its id, attributes and body (so dedupe still recognises it), starts with a
 * fresh delivery budget, and leaves the dead-letter list. A message that fails again is
 * dead-lettered again, under a new handle. A handle that is unknown, or was already redriven or
 * discarded, is skipped: redriving twice delivers once.
 */
export interface DeadLetterAdmin {
  /** Dead letters of `subscription` not yet redriven or discarded, oldest first. */
  list(subscription: string, options?: DeadLetterListOptions): Promise<DeadLetter[]>;
  /** One dead letter, or undefined when the handle names none (any more). */
  get(subscription: string, handle: string): Promise<DeadLetter | undefined>;
  /** Sends the selected dead letters back to `subscription`; resolves with those sent. */
  redrive(subscription: string, selection: RedriveSelection): Promise<DeadLetter[]>;
  /** Removes one dead letter for good; false when the handle names none. */
  discard(subscription: string, handle: string): Promise<boolean>;
  /** Closes the admin's own connections. */
  close(): Promise<void>;
}
