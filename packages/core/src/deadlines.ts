// One timer for many calls that share a timeout, instead of a timer per call: on hot paths (a
// dedupe claim per message) a setTimeout/clearTimeout pair per call costs more than the call's
// own bookkeeping. All calls with the same `timeoutMs` get their deadlines in the order they
// start, so they wait in a FIFO and a single timer is armed for the oldest call still
// unanswered. A call that is answered is only marked; the timer skips it when it fires. Each
// call still fails at its own deadline.
import { Fifo } from './fifo.js';

/** A call waiting for its answer or its deadline, whichever comes first. */
export interface Deadline {
  /** `performance.now()` at which the call gives up. */
  readonly at: number;
  /** Set once the call has its answer (or has failed): the timer then skips it. */
  settled: boolean;
  /**
   * Called once, when `at` has passed and the call is still unanswered a turn of the event loop
   * later (an answer already waiting behind a busy loop lands first); sets `settled`.
   */
  expire(): void;
}

/** A FIFO of deadlines that are all `timeoutMs` after their start. */
export interface Deadlines {
  /**
   * Starts watching a call whose `at` is `timeoutMs` from now: its `expire` runs then unless
   * `settled` is set before.
   */
  watch(deadline: Deadline): void;
}

/** Creates a FIFO of deadlines `timeoutMs` after their start, served by a single timer. */
export function createDeadlines(timeoutMs: number): Deadlines {
  const queue = new Fifo<Deadline>();
  let timer: NodeJS.Timeout | undefined;

  const fire = () => {
    timer = undefined;
    const now = performance.now();
    const overdue: Deadline[] = [];
    for (let next = queue.peek(); next !== undefined; next = queue.peek()) {
      if (!next.settled && next.at > now) {
        arm(next.at - now);
        break;
      }
      queue.shift();
      if (!next.settled) overdue.push(next);
    }
    if (!overdue.length) return;
    // Timers run before I/O callbacks in each turn of the event loop: after a busy stretch the
    // answers may be waiting in the I/O queue behind this overdue timer. One turn through the
    // poll phase (setImmediate runs after it) lets them land before the calls are given up.
    setImmediate(() => {
      for (const deadline of overdue) if (!deadline.settled) deadline.expire();
    });
  };

  const arm = (delayMs: number) => {
    // Unref'd: a pending call is kept alive by whatever it waits on (a socket), not by its
    // timeout, and a timer left armed for calls that were all answered must not hold the
    // process open.
    timer = setTimeout(fire, Math.max(0, Math.ceil(delayMs)));
    timer.unref();
  };

  return {
    watch(deadline) {
      // Drop the answered calls at the front now, so that calls made one after another keep the
      // queue at about one entry instead of holding every call until the timer fires.
      while (queue.peek()?.settled) queue.shift();
      queue.push(deadline);
      if (timer === undefined) arm(timeoutMs);
    },
  };
}

/**
 * Bounds promises by one shared timeout: `bound(promise)` settles like `promise`, or rejects
 * with `onTimeout(what)` once `timeoutMs` has passed without an answer. The late answer is then
 * ignored (the work it stands for may still happen).
 */
export function createTimeLimit(
  timeoutMs: number,
  onTimeout: (what: string) => Error,
): <T>(promise: Promise<T>, what: string) => Promise<T> {
  const deadlines = createDeadlines(timeoutMs);
  return <T>(promise: Promise<T>, what: string) =>
    new Promise<T>((resolve, reject) => {
      const deadline: Deadline = {
        at: performance.now() + timeoutMs,
        settled: false,
        expire() {
          deadline.settled = true;
          reject(onTimeout(what));
        },
      };
      deadlines.watch(deadline);
      promise.then(
        (value) => {
          deadline.settled = true;
          resolve(value);
        },
        (error: unknown) => {
          deadline.settled = true;
          reject(error);
        },
      );
    });
}
