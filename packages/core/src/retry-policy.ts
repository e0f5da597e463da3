// Retry policy: a few immediate in-process retries, then delayed retries with exponential
// backoff and jitter, then dead-letter. Errors that cannot succeed on retry skip straight to
// dead-letter.

import type { Disposition } from './contracts/transport.js';
import { ConfigurationError, describeError, EdaError } from './errors.js';

/** Options of `createRetryPolicy`. */
export interface RetryPolicyOptions {
  /** Extra in-process tries within one delivery before a delayed retry. @default 2 */
  readonly immediateRetries?: number;
  /** Deliveries (first one included) before the message is dead-lettered. @default 5 */
  readonly maxDeliveries?: number;
  /** Delay before the second delivery. @default 1000 */
  readonly initialDelayMs?: number;
  /** Each further delay is multiplied by this. @default 2 */
  readonly multiplier?: number;
  /** Upper bound of a delay. @default 60000 */
  readonly maxDelayMs?: number;
  /** Fraction of each delay that is randomized (0 to 1), so retries of a burst spread out. @default 0.2 */
  readonly jitter?: number;
  /** Decides whether an error may succeed on retry. @default errors not from `@eda`, and `@eda` errors marked retryable */
  readonly isRetryable?: (error: unknown) => boolean;
}

/** A resolved retry policy. */
export interface RetryPolicy {
  readonly immediateRetries: number;
  readonly maxDeliveries: number;
  /** The delay before delivery `attempt + 1`. */
  delayAfter(attempt: number): number;
  /** Whether a failure with this error may succeed on a later attempt. */
  isRetryable(error: unknown): boolean;
}

function check(name: string, value: number, min: number, max = Number.POSITIVE_INFINITY): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigurationError(
      `Retry option ${name} is ${value}: use a number from ${min}${max === Number.POSITIVE_INFINITY ? '' : ` to ${max}`}.`,
    );
  }
  return value;
}

/** Builds a retry policy, rejecting impossible options at once. */
export function createRetryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  const immediateRetries = check('immediateRetries', options.immediateRetries ?? 2, 0, 100);
  const maxDeliveries = check('maxDeliveries', options.maxDeliveries ?? 5, 1);
  const initialDelayMs = check('initialDelayMs', options.initialDelayMs ?? 1000, 0);
  const multiplier = check('multiplier', options.multiplier ?? 2, 1);
  const maxDelayMs = check('maxDelayMs', options.maxDelayMs ?? 60_000, initialDelayMs);
  const jitter = check('jitter', options.jitter ?? 0.2, 0, 1);
  const isRetryable =
    options.isRetryable ?? ((error: unknown) => !EdaError.isInstance(error) || error.retryable);
  return {
    immediateRetries,
    maxDeliveries,
    isRetryable,
    delayAfter(attempt) {
      const base = Math.min(maxDelayMs, initialDelayMs * multiplier ** Math.max(0, attempt - 1));
      return Math.round(base * (1 - jitter + Math.random() * jitter));
    },
  };
}

/** Codes of failures that are never the message's fault, when they carry a retryAfterMs. */
const DEFERRABLE_CODES: ReadonlySet<string> = new Set([
  'EDA_IN_PROGRESS',
  'EDA_UNAVAILABLE',
  'EDA_VERSION_CONFLICT',
]);

/**
 * The wait of a failure that must not spend the delivery budget (an in-progress claim, an
 * unreachable idempotency store, an append that lost a race to another writer of its stream),
 * or undefined for an ordinary failure.
 */
export function deferredDelay(error: unknown): number | undefined {
  if (!EdaError.isInstance(error) || !DEFERRABLE_CODES.has(error.code)) return undefined;
  const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
    ? retryAfterMs
    : undefined;
}

/** How to settle a delivery whose processing failed with `error` on delivery `attempt`. */
export function dispositionForFailure(
  policy: RetryPolicy,
  error: unknown,
  attempt: number,
  subscription: string,
): Disposition {
  const described = describeError(error);
  const deferMs = deferredDelay(error);
  if (deferMs !== undefined) {
    // Another consumer holds the message's claim, or the idempotency store is unreachable: not
    // the message's fault, so it is redelivered later keeping its attempt, and never
    // dead-lettered for this.
    return {
      type: 'retry',
      delayMs: deferMs,
      reason: `${described.type}: ${described.message}`,
      deferred: true,
    };
  }
  if (policy.isRetryable(error) && attempt < policy.maxDeliveries) {
    return {
      type: 'retry',
      delayMs: policy.delayAfter(attempt),
      reason: `${described.type}: ${described.message}`,
    };
  }
  return {
    type: 'dead-letter',
    reason: {
      code: described.code,
      errorType: described.type,
      message: described.message,
      attempts: attempt,
      subscription,
    },
  };
}
