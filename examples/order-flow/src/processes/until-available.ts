// A service started while a broker or the database is down waits for it instead of crashing
// (and being restarted in a loop by whatever supervises it): it retries the first connection
// with a capped backoff and says what it waits for.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '@eda/core';

export interface UntilAvailableOptions {
  /** Told once per failed attempt. */
  readonly log: (line: string) => void;
  /** Stops waiting (the process is shutting down): the call then rejects. */
  readonly signal?: AbortSignal;
  /** @default 250 */
  readonly initialDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
}

/** Runs `attempt` until it resolves, waiting between failures; returns its result. */
export async function untilAvailable<T>(
  what: string,
  attempt: () => Promise<T>,
  options: UntilAvailableOptions,
): Promise<T> {
  const { log, signal, initialDelayMs = 250, maxDelayMs = 5000 } = options;
  for (let delay = initialDelayMs; ; delay = Math.min(delay * 2, maxDelayMs)) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      log(`waiting for ${what} (${describeError(error).message}); next try in ${delay} ms`);
      // An abort ends the wait at once; the loop then throws the abort reason.
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }
}
