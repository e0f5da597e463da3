// Runs the store's Lua scripts: refuses at once while the client is reconnecting or closed (so
// no claim waits in ioredis's offline queue), sends EVALSHA and falls back to EVAL when Redis
// answers NOSCRIPT (first use, or after a restart emptied the script cache), and gives up with
// UnavailableError after `timeoutMs`. Completions and releases are "patient": they come after
// the side effect, and a completion that never lands means the message is handled again after
// its lease, so within `timeoutMs` they wait for a reconnect and try again.
// This is on every claim's path, so the common case allocates little: one promise per call, one
// argument array, and a shared deadline timer instead of a timer and a Promise.race per call.
import { UnavailableError } from '@eda/core';
import { createDeadlines, type Deadline } from '@eda/core/adapter';
import type { Cluster, Redis } from 'ioredis';
import type { LuaScript } from './lua-scripts.js';
import { isNoScript, toStoreError } from './store-errors.js';

/** The ioredis clients the store accepts: a standalone `Redis` or a `Cluster`, either reply mapping. */
export type RedisClient = Redis<'legacy'> | Redis<'resp3'> | Cluster<'legacy'> | Cluster<'resp3'>;

// States in which a command would only be queued client-side, waiting for a connection that
// may not come back soon. `wait`, `connecting` and `connect` are let through: that is a client
// being opened, and ioredis sends the command as soon as it is ready (or, with
// enableOfflineQueue: false, rejects it itself).
const DOWN_STATES = new Set(['reconnecting', 'close', 'end', 'disconnecting']);

/** Resolves when `client` is ready, or after `ms`, whichever comes first. */
function readyWithin(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready' || ms <= 0) return Promise.resolve();
  // Both client classes are EventEmitters; their typed `on` overloads do not unite.
  const events = client as unknown as NodeJS.EventEmitter;
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      events.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    events.once('ready', done);
  });
}

/** What a call is about, for error messages; built only when one is needed. */
function describe(script: LuaScript, keys: readonly string[]): string {
  return `the ${script.name} of ${keys.length === 1 ? `"${keys[0]}"` : `${keys.length} keys`}`;
}

/** Runs the store's scripts on one client, each call bounded by `timeoutMs`. */
export interface ScriptRunner {
  /**
   * Sends `script` with `keys` and `args` once. Rejects at once with UnavailableError while
   * the client is down, and with UnavailableError when no answer came within `timeoutMs`.
   * `onLateReply` gets the answer that Redis sends after that timeout (the script did run), so
   * the caller can undo what nobody is waiting for any more.
   */
  run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    onLateReply?: (reply: unknown) => void,
  ): Promise<unknown>;
  /**
   * Like `run`, but waits for a reconnecting client and retries after a connection error while
   * `timeoutMs` has not passed. Use it only for scripts that are safe to run twice (complete and
   * release are: they check the token).
   */
  runPatient(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown>;
}

type Send = (...argv: (string | number)[]) => Promise<unknown>;

// One script call in flight. A class rather than closures made per call: its methods exist
// once, and the call is its own entry in the shared deadline queue.
class ScriptCall implements Deadline {
  readonly at: number;
  settled = false;
  /** Set when the call timed out: an answer after that goes to `late`, not to the caller. */
  private expired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly script: LuaScript,
    private readonly keys: readonly string[],
    private readonly argv: (string | number)[],
    private readonly timeoutMs: number,
    private readonly resolve: (reply: unknown) => void,
    private readonly reject: (error: unknown) => void,
    ownTimer: boolean,
    private readonly late: ((reply: unknown) => void) | undefined,
  ) {
    this.at = performance.now() + timeoutMs;
    // A loop blocked past the deadline (a CPU-bound handler, a GC pause) runs its expired timers
    // before it reads the sockets, so an answer Redis sent in time would still lose the race:
    // setImmediate runs after the next socket read. Calls on core's shared deadlines get the same
    // turn from createDeadlines itself.
    if (ownTimer) this.timer = setTimeout(() => setImmediate(() => this.expire()), timeoutMs);
  }

  send(): void {
    let sent: Promise<unknown>;
    try {
      sent = (this.client.evalsha as Send)(...this.argv);
    } catch (error) {
      this.fail(error);
      return;
    }
    sent.then(
      (reply) => this.answer(reply),
      (error: unknown) => this.retryOrFail(error),
    );
  }

  expire(): void {
    if (this.settled) return;
    this.settled = true;
    this.expired = true;
    this.reject(
      new UnavailableError(
        `Redis idempotency store: ${describe(this.script, this.keys)} got no answer within ${this.timeoutMs} ms (timeoutMs). Redis is down or overloaded; the command may still run later.`,
      ),
    );
  }

  private answer(reply: unknown): void {
    if (this.expired) {
      this.late?.(reply);
      return;
    }
    this.settle();
    this.resolve(reply);
  }

  private fail(error: unknown): void {
    this.settle();
    this.reject(toStoreError(error, describe(this.script, this.keys)));
  }

  private retryOrFail(error: unknown): void {
    if (!isNoScript(error)) {
      this.fail(error);
      return;
    }
    // EVAL also loads the script into the server's cache, so the next EVALSHA hits.
    this.argv[0] = this.script.source;
    (this.client.eval as Send)(...this.argv).then(
      (reply) => this.answer(reply),
      (failure: unknown) => this.fail(failure),
    );
  }

  private settle(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

export function createScriptRunner(client: RedisClient, timeoutMs: number): ScriptRunner {
  const deadlines = createDeadlines(timeoutMs);

  // `ms` is given only for a patient retry, which has less than `timeoutMs` left: it gets a
  // timer of its own, since the shared one relies on every deadline being `timeoutMs` away.
  const send = (
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    ms?: number,
    onLateReply?: (reply: unknown) => void,
  ): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (DOWN_STATES.has(client.status)) {
        reject(
          new UnavailableError(
            `Redis idempotency store: ${describe(script, keys)} was not sent because the Redis client is ${client.status}. The message is retried later (fail-closed) or handled without dedupe (fail-open).`,
          ),
        );
        return;
      }
      const argv: (string | number)[] = [script.sha, keys.length];
      for (const key of keys) argv.push(key);
      for (const arg of args) argv.push(arg);
      const call = new ScriptCall(
        client,
        script,
        keys,
        argv,
        ms ?? timeoutMs,
        resolve,
        reject,
        ms !== undefined,
        onLateReply,
      );
      if (ms === undefined) deadlines.watch(call);
      call.send();
    });

  return {
    run: (script, keys, args, onLateReply) => send(script, keys, args, undefined, onLateReply),

    async runPatient(script, keys, args) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (client.status !== 'ready') await readyWithin(client, deadline - Date.now());
        const left = deadline - Date.now();
        try {
          // With the whole timeoutMs still left, the attempt can share the store's deadline timer.
          return await (left >= timeoutMs
            ? send(script, keys, args)
            : send(script, keys, args, Math.max(1, left)));
        } catch (error) {
          const retryable = UnavailableError.isInstance(error) && error.code === 'EDA_UNAVAILABLE';
          if (!retryable || Date.now() >= deadline) throw error;
          if (client.status === 'ready') await new Promise((r) => setTimeout(r, 10));
        }
      }
    },
  };
}
