// Reconnect timing: exponential backoff with jitter (waits use core's abortableSleep, which ends
// early on close).

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

/** The delay before reconnect attempt `attempt` (0-based). */
export function backoffDelay(options: Required<BackoffOptions>, attempt: number): number {
  const base = Math.min(
    options.maxDelayMs,
    options.initialDelayMs * options.multiplier ** Math.min(attempt, 30),
  );
  return Math.round(base * (1 - options.jitter + Math.random() * options.jitter));
}
