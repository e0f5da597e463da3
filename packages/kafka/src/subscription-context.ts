// What every batch of one subscription member shares: the handler, the in-flight bound, the
// writer for dead letters and retries, and the signal that close() has begun.
import type { DeliveryHandler, MessagingServer } from '@eda/core/adapter';
import type { ResolvedKafkaOptions } from './kafka-transport-options.js';
import type { RecordWriter } from './record-writer.js';
import type { Slots } from './slots.js';
import type { TransportMonitor } from './transport-events.js';

export interface SubscriptionContext {
  /** The subscription (consumer group) name. */
  readonly name: string;
  readonly handler: DeliveryHandler;
  /** Bounds the handlers running at once across every partition of this member. */
  readonly slots: Slots;
  readonly writer: RecordWriter;
  readonly options: ResolvedKafkaOptions;
  readonly deadLetterTopic: string;
  /** Retry topics by tier (index 0 is tier 1); empty in blocking mode. */
  readonly retryTopics: readonly string[];
  /** Deliveries so far of records that were abandoned unsettled, so a redelivery to this member keeps counting. */
  readonly attempts: Map<string, number>;
  /** Aborted when close() starts: no new record is started, in-flight ones finish. */
  readonly closing: AbortSignal;
  /** Aborted when the member is killed (a simulated crash): results are ignored, nothing more is settled or committed. */
  readonly killed: AbortSignal;
  /** The latest commit of each partition (`topic NUL partition`), so commits apply in order. */
  readonly commitChains: Map<string, Promise<void>>;
  /** Counts and reports the failures the transport handles by a policy of its own. */
  readonly monitor: TransportMonitor;
  /** The broker named in spans, when known. */
  readonly server?: MessagingServer | undefined;
  /**
   * Stops the subscription for a reason retrying cannot fix (reported to onError and as an
   * event); in-flight records finish, what is settled is committed, the member leaves. Never
   * waits for the close, so a batch may call it.
   */
  readonly fail: (error: Error) => void;
  /**
   * The member's group membership as a counter, raised whenever it starts to rejoin or joins:
   * a commit queued under an older value belongs to a generation that is over.
   */
  readonly membership: { epoch: number };
  /** Latest delivery time of retry-topic records waiting to be due (`topic NUL partition NUL offset`), so the cap holds across refetches. */
  readonly retryDeadlines: Map<string, number>;
  /** True while the application paused the subscription: a retry wait must not resume it. */
  readonly pausedByUser: () => boolean;
}
