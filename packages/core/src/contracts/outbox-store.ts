// The outbox store contract: messages are written in the same transaction as the business
// state, and a relay publishes them afterwards, at least once and in order per aggregate.
import type { OutgoingMessage } from './transport.js';

/** What an outbox store can do. */
export interface OutboxCapabilities {
  /** Several relays may claim concurrently; each record is claimed by one at a time. */
  readonly concurrentRelays: boolean;
  /** Records of one aggregate (partition key) are claimed in write order, even when their transactions committed out of order. */
  readonly orderedPerAggregate: boolean;
  /** `waitForChange` wakes the relay when records are written (otherwise it polls). */
  readonly notifications: boolean;
  /** Records survive a restart of the client process. */
  readonly persistent: boolean;
}

/** A stored message claimed by a relay. */
export interface OutboxRecord {
  /** Store-specific record id (a sequence), unique in the store. */
  readonly recordId: string;
  readonly message: OutgoingMessage;
  /** Failed publish attempts so far. */
  readonly attempts: number;
  /**
   * Identity of the claim that returned this record, set by stores that fence settlements:
   * `complete` and `fail` refuse (`UnavailableError`) a record whose claim is no longer the
   * current one (its lease expired and another claim took the record), changing nothing.
   */
  readonly claimId?: string;
}

/** Options of a claim. */
export interface OutboxClaimOptions {
  /** At most this many records. */
  readonly limit: number;
  /** The claim lasts this long; a relay that dies mid-batch loses its claim after it. */
  readonly leaseMs: number;
}

/** Options of `OutboxStore.fail`. */
export interface OutboxFailOptions {
  /**
   * Release the records without counting an attempt: they were not refused themselves (they
   * wait behind a refused record of their aggregate, or were not tried), so this call never
   * dead-letters them; `error` is kept as their last error and `retryAfterMs` still applies.
   * A store that ignores it counts an attempt (the behaviour before this option).
   * @default false
   */
  readonly deferred?: boolean;
}

/** What `OutboxStore.backlog` reports. */
export interface OutboxBacklog {
  /** Records waiting to be published. */
  readonly records: number;
  /** Milliseconds since the oldest waiting record was written; undefined when none waits. */
  readonly oldestAgeMs: number | undefined;
}

/** Where the outbox keeps messages until they are published. `TTransaction` is the caller's transaction handle. */
export interface OutboxStore<TTransaction = unknown> {
  readonly capabilities: OutboxCapabilities;
  /**
   * Writes messages inside the caller's transaction: they exist if and only if it commits.
   * @throws ConfigurationError when `transaction` is not an open transaction of this store.
   */
  add(transaction: TTransaction, messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Claims the oldest publishable records: committed, not leased, not waiting for a retry
   * backoff, and not behind an earlier unfinished record of the same aggregate. A record whose
   * transaction is still open must not let later records of its aggregate pass it.
   */
  claim(options: OutboxClaimOptions): Promise<OutboxRecord[]>;
  /**
   * Marks records as published (or deletes them).
   * @throws UnavailableError when a record's claim is no longer current (see `claimId`): then
   * nothing was changed, and the current holder settles the record.
   */
  complete(records: readonly OutboxRecord[]): Promise<void>;
  /**
   * Counts a failed attempt for each record. A record is dead-lettered (kept, never published
   * again) once its attempts reach `maxAttempts`; otherwise it becomes claimable after `retryAfterMs`.
   * @throws UnavailableError when a record's claim is no longer current (see `claimId`): then
   * nothing was changed.
   */
  fail(
    records: readonly OutboxRecord[],
    failure: {
      readonly error: string;
      readonly maxAttempts: number;
      readonly retryAfterMs: number;
    },
    options?: OutboxFailOptions,
  ): Promise<void>;
  /** Deletes up to `limit` published records older than `olderThanMs`; returns how many. */
  purge(options: { readonly olderThanMs: number; readonly limit: number }): Promise<number>;
  /**
   * Records not yet published (nor dead) and the age of the oldest, for the relay's
   * `eda.outbox.backlog` and `eda.outbox.oldest_age` gauges (optional: without it the relay
   * reports neither).
   */
  backlog?(): Promise<OutboxBacklog>;
  /** Resolves when new records may be claimable or `signal` aborts (optional: relays poll without it). */
  waitForChange?(signal: AbortSignal): Promise<void>;
}
