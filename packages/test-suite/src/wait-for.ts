// Waiting without total sleeps: a wait fails only when nothing has happened for `idleMs`, so a
// slow but moving broker passes and a stuck one fails fast.
import { abortableSleep as pause } from '@eda/core/adapter';

/** Options of `waitFor`. */
export interface WaitForOptions {
  /**
   * Fail when the condition is still false and `progress` has not changed for this long. Each
   * change of `progress` (a new message, a retry) restarts this timer.
   */
  readonly idleMs: number;
  /**
   * A value that changes whenever something arrives, such as the number of messages received.
   * Compared with `Object.is` on every poll. @default no progress: `idleMs` is then a total timeout
   */
  readonly progress?: () => unknown;
  /** What is awaited, for the failure message (a function is called only on failure). */
  readonly description?: string | (() => string);
  /** Time between two checks of the condition. @default 5 */
  readonly intervalMs?: number;
}

/** Thrown by `waitFor` when the idle timeout passes. */
export class WaitTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Resolves once `condition` holds. Rejects with `WaitTimeoutError` after `idleMs` without the
 * condition holding and without `progress` changing. A condition that throws rejects at once.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: WaitForOptions,
): Promise<void> {
  const { idleMs, progress, description, intervalMs = 5 } = options;
  if (!Number.isFinite(idleMs) || idleMs <= 0)
    throw new RangeError(`waitFor idleMs is ${idleMs}: use a positive number of milliseconds.`);
  let last = progress?.();
  let idleSince = Date.now();
  for (;;) {
    if (await condition()) return;
    if (progress) {
      const current = progress();
      if (!Object.is(current, last)) {
        last = current;
        idleSince = Date.now();
      }
    }
    if (Date.now() - idleSince >= idleMs) {
      const what = typeof description === 'function' ? description() : description;
      throw new WaitTimeoutError(
        `Nothing happened for ${idleMs} ms while waiting${what ? ` for ${what}` : ''}.`,
      );
    }
    await pause(intervalMs);
  }
}
