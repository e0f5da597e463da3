// Idempotent consumer: claim the message before the handler, complete the claim after success,
// release it after failure so the retry is processed (a dedupe that never releases would drop
// every retry).
import type { IdempotencyStore } from '../contracts/idempotency-store.js';
import { createTimeLimit } from '../deadlines.js';
import { type Envelope, isEntityVersion, MAX_ENTITY_VERSION } from '../envelope.js';
import { DecodeError, EdaError, InProgressError, UnavailableError } from '../errors.js';
import type { ConsumeContext, ConsumeMiddleware } from './consume-context.js';
import type { DedupeMode } from './handler-registration.js';

/** Options of the idempotency step (the bus's `idempotency` option). */
export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  /** How long a claim stays exclusive if its consumer dies. Longer than your slowest handler. @default 60000 */
  readonly leaseMs?: number;
  /** How long completed message ids are remembered. Longer than any redelivery or outbox re-send. @default 604800000 (7 days) */
  readonly retentionMs?: number;
  /** A store call slower than this counts as unavailable. @default 2000 */
  readonly timeoutMs?: number;
  /**
   * When the store is unavailable: `fail-closed` holds the message back and tries it again
   * about every second until the store answers, without counting a delivery, so an outage never
   * dead-letters it (no duplicate side effect, more latency); `fail-open` runs the handler
   * without dedupe (the side effect may happen twice).
   * @default 'fail-closed'
   */
  readonly onUnavailable?: 'fail-closed' | 'fail-open';
}

/**
 * One part of a dedupe key: `%` and `:` percent-encoded, so the `:`-joined parts can be told
 * apart (source `a:b` with id `c` is not source `a` with id `b:c`).
 */
function keyPart(part: string): string {
  return part.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

/**
 * The dedupe key and version of a message for a mode: `<subscription>:msg:<source>:<id>` or
 * `<subscription>:entity:<source>:<entity>`, each part with `%` and `:` percent-encoded.
 * @throws DecodeError (the message is dead-lettered) for entity-version dedupe without an entity
 * or a version, or with a version outside 0..MAX_ENTITY_VERSION.
 */
export function dedupeKey(
  subscription: string,
  envelope: Envelope,
  mode: Exclude<DedupeMode, 'none'>,
): { key: string; version?: number } {
  const prefix = keyPart(subscription);
  if (mode === 'message-id')
    return { key: `${prefix}:msg:${keyPart(envelope.source)}:${keyPart(envelope.id)}` };
  const entity = envelope.subject ?? envelope.partitionkey;
  if (entity === undefined || envelope.version === undefined) {
    throw new DecodeError(
      `Message ${envelope.id} ("${envelope.type}") is handled with entity-version dedupe but has no ${entity === undefined ? 'subject or partitionkey' : 'version'}.`,
    );
  }
  if (!isEntityVersion(envelope.version)) {
    // Accepting it would make every later (smaller) version of the entity stale until the
    // retention ends: refuse it loudly instead.
    throw new DecodeError(
      `Message ${envelope.id} ("${envelope.type}") has entity version ${envelope.version}, outside 0..${MAX_ENTITY_VERSION} (the CloudEvents Integer range): fix the producer's versions.`,
    );
  }
  return {
    key: `${prefix}:entity:${keyPart(envelope.source)}:${keyPart(entity)}`,
    version: envelope.version,
  };
}

/**
 * How often an in-progress message asks again at most. A live holder usually finishes in
 * milliseconds, and a log that retries in place stalls its partition for the whole wait, so the
 * message looks again every few seconds instead of sleeping through a dead holder's full lease;
 * the looks are deferred, so they never spend its delivery budget.
 */
export const IN_PROGRESS_POLL_MS = 5000;

/**
 * How long a message waits when the store could not be reached for its claim or completion.
 * The wait is deferred (never spends the delivery budget), so a Redis or database outage holds
 * messages back until it ends instead of dead-lettering them after the retry policy's few
 * deliveries.
 */
export const STORE_UNAVAILABLE_RETRY_MS = 1000;

/** `ms` plus up to 20% jitter, so the copies of a burst do not all come back at once. */
function withJitter(ms: number): number {
  return Math.max(1, Math.ceil(ms * (1 + Math.random() * 0.2)));
}

/**
 * The wait before an in-progress message is tried again: the lease time left, at most
 * IN_PROGRESS_POLL_MS, plus up to 20% jitter, so the copies of a burst held by one dead consumer
 * do not all come back at once.
 */
export function inProgressDelay(leaseLeftMs: number): number {
  return withJitter(Math.min(leaseLeftMs, IN_PROGRESS_POLL_MS));
}

/**
 * A store call's error, made deferrable when the store was unreachable: the message is retried
 * later without spending a delivery. Other errors (the store answered with a refusal) pass as
 * they are and count by the retry policy.
 */
function deferIfUnavailable(error: unknown): unknown {
  if (!EdaError.isInstance(error) || error.code !== 'EDA_UNAVAILABLE') return error;
  return new UnavailableError(
    `${error.message} The message waits ${STORE_UNAVAILABLE_RETRY_MS} ms and is tried again, without counting a delivery.`,
    { cause: error, retryAfterMs: withJitter(STORE_UNAVAILABLE_RETRY_MS) },
  );
}

export function idempotencyStep(
  options: IdempotencyOptions,
  onLeaseLost: (context: ConsumeContext) => void,
): ConsumeMiddleware {
  const {
    store,
    leaseMs = 60_000,
    retentionMs = 7 * 24 * 3600_000,
    timeoutMs = 2000,
    onUnavailable = 'fail-closed',
  } = options;
  // One shared timer for every claim and completion of this subscription (see deadlines.ts).
  const withTimeout = createTimeLimit(
    timeoutMs,
    (what) =>
      new UnavailableError(`Idempotency store did not answer ${what} within ${timeoutMs} ms.`),
  );
  return async (context, next) => {
    const mode = context.registration?.dedupe ?? 'message-id';
    if (mode === 'none') return next();
    const { key, version } = dedupeKey(context.subscription, context.envelope!, mode);
    let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
    try {
      claim = await withTimeout(
        store.claim(key, version === undefined ? { leaseMs } : { leaseMs, version }),
        'a claim',
      );
    } catch (error) {
      // Only an unreachable store opens the gate; a store that answers with an error does not.
      const unavailable = EdaError.isInstance(error) && error.code === 'EDA_UNAVAILABLE';
      if (unavailable && onUnavailable === 'fail-open') return next();
      throw deferIfUnavailable(error);
    }
    switch (claim.status) {
      case 'done':
        context.outcome = 'duplicate';
        return;
      case 'stale':
        context.outcome = 'stale';
        return;
      case 'in-progress': {
        // Wait until the holder's lease can have run out (a dead holder's claim frees itself
        // then), not by the retry backoff: this wait must not spend the delivery budget.
        const retryAfterMs = inProgressDelay(claim.retryAfterMs ?? leaseMs);
        throw new InProgressError(
          `Message ${context.envelope!.id} is being handled by another consumer of "${context.subscription}"; looking again in ${retryAfterMs} ms (a dead holder's claim frees itself when its lease runs out).`,
          { retryAfterMs },
        );
      }
    }
    try {
      await next();
    } catch (error) {
      // Best effort: if the release fails, the lease still expires and the retry proceeds then.
      await withTimeout(store.release(key, claim.token), 'a release').catch(() => undefined);
      throw error;
    }
    // A completion the store could not take leaves the claim held: the message comes back and
    // finds it done (the completion landed late) or in progress until the lease ends.
    const completed = await withTimeout(
      store.complete(
        key,
        claim.token,
        version === undefined ? { retentionMs } : { retentionMs, version },
      ),
      'a completion',
    ).catch((error: unknown) => {
      throw deferIfUnavailable(error);
    });
    // The lease ran out before the handler finished: another consumer may have applied the side
    // effect too. Nothing can undo that here, but it must be visible.
    if (!completed) onLeaseLost(context);
  };
}
