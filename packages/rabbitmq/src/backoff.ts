// Reconnect timing: exponential backoff with jitter (waits use core's abortableSleep, which ends
// early on close).
import { abortableSleep } from '@eda/core/adapter';

/** Delays between reconnect attempts. */
export interface BackoffOptions {
  /** First delay after a failure. @default 100 */
  readonly initialDelayMs?: number;
  /** Upper bound of any delay. @default 5000 */
  readonly maxDelayMs?: number;
  /** Each further delay is multiplied by this. @default 2 */
  readonly multiplier?: number;
  /** Fraction of each delay that is randomized (0 to 1), so many clients do not reconnect in step. @default 0.3 */
  readonly jitter?: number;
}

/** A connection or channel that stayed up at least this long resets the backoff. */
const STABLE_MS = 1000;

/** The delay before reconnect attempt `attempt` (0-based). */
export function backoffDelay(options: Required<BackoffOptions>, attempt: number): number {
  const base = Math.min(
    options.maxDelayMs,
    options.initialDelayMs * options.multiplier ** Math.min(attempt, 30),
  );
  return Math.round(base * (1 - options.jitter + Math.random() * options.jitter));
}

/**
 * Called when a connection or channel opened at `openedAt` has ended: one that stayed up long
 * enough reopens at once with the backoff reset; a short-lived one waits the backoff of
 * `attempt` first (or until `signal` aborts).
 * @returns the attempt number of the next reopen.
 */
export async function backoffAfterLoss(
  options: Required<BackoffOptions>,
  openedAt: number,
  attempt: number,
  signal: AbortSignal,
): Promise<number> {
  if (Date.now() - openedAt >= STABLE_MS) return 0;
  await abortableSleep(backoffDelay(options, attempt), signal);
  return attempt + 1;
}
