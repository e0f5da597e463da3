// The idempotency store contract: makes a side effect happen once although the message arrives
// many times. Claim before handling, complete after success, release after failure.

/** What an idempotency store can do. */
export interface IdempotencyCapabilities {
  /** A claim expires after its lease so a crashed consumer's message is processed by another. */
  readonly leases: boolean;
  /** `claim` with `version` applies only versions newer than the last completed one. */
  readonly versionGuard: boolean;
  /** Completed keys are forgotten after their retention window. */
  readonly retention: boolean;
  /** Claims survive a restart of the client process. */
  readonly persistent: boolean;
}

/** Options of one claim. */
export interface ClaimOptions {
  /** How long the claim stays exclusive if the claimant never completes or releases it. */
  readonly leaseMs: number;
  /**
   * Entity version of an entity-changed event: the claim succeeds only when it is newer than
   * the last completed version of the key (here the key names the entity, not the message).
   */
  readonly version?: number;
}

/** The outcome of a claim. */
export type ClaimResult =
  | { readonly status: 'claimed'; readonly token: string }
  /**
   * Another consumer holds an unexpired claim: try again later. `retryAfterMs` is the time left
   * on that claim's lease, when the store knows it (the consumer waits that long, else its full
   * `leaseMs`, before it tries again).
   */
  | { readonly status: 'in-progress'; readonly retryAfterMs?: number }
  /** Already completed within the retention window: skip the side effect. */
  | { readonly status: 'done' }
  /** The version is not newer than the last applied one: skip. */
  | { readonly status: 'stale'; readonly appliedVersion: number };

/** Dedupe state shared by the instances of one consumer. */
export interface IdempotencyStore {
  readonly capabilities: IdempotencyCapabilities;
  /**
   * Atomically claims `key`. Of concurrent claims of one free key exactly one gets `claimed`.
   * @throws UnavailableError when the store cannot be reached in time (the message is retried).
   */
  claim(key: string, options: ClaimOptions): Promise<ClaimResult>;
  /**
   * Marks the claim done and keeps the key for `retentionMs`. With a version claim, records the
   * version as applied. A completion that arrives after the lease expired is still recorded when
   * nobody claimed the key in between (the handler did its work once; dropping the completion
   * would let a later duplicate run it again). Does nothing and returns false only when another
   * claim took the key over (a real takeover: the side effect may have happened twice).
   */
  complete(
    key: string,
    token: string,
    options: { readonly retentionMs: number; readonly version?: number },
  ): Promise<boolean>;
  /** Drops the claim so the next delivery is processed. Returns false if `token` no longer held it. */
  release(key: string, token: string): Promise<boolean>;
}
