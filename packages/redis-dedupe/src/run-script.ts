// Runs one of the store's Lua scripts: refuses at once while the client is reconnecting or
// closed (so no claim waits in ioredis's offline queue), sends EVALSHA and falls back to EVAL
// when Redis answers NOSCRIPT (first use, or after a restart emptied the script cache), and
// gives up with UnavailableError after `timeoutMs`. Completions and releases are "patient":
// they come after the side effect, and a completion that never lands means the message is
// handled again after its lease, so within `timeoutMs` they wait for a reconnect and try again.
import { UnavailableError } from '@eda/core';
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

/**
 * Sends `script` with `keys` and `args`, bounded by `timeoutMs`. With `patient`, waits for a
 * reconnecting client and retries after a connection error while time remains; use it only for
 * scripts that are safe to run twice (complete and release are: they check the token).
 */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
  timeoutMs: number,
  patient = false,
): Promise<unknown> {
  const what = `the ${script.name} of ${keys.length === 1 ? `"${keys[0]}"` : `${keys.length} keys`}`;
  if (patient) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await readyWithin(client, deadline - Date.now());
      const left = deadline - Date.now();
      try {
        return await runScript(client, script, keys, args, Math.max(1, left));
      } catch (error) {
        const retryable = UnavailableError.isInstance(error) && error.code === 'EDA_UNAVAILABLE';
        if (!retryable || Date.now() >= deadline) throw error;
        if (client.status === 'ready') await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  if (DOWN_STATES.has(client.status)) {
    throw new UnavailableError(
      `Redis idempotency store: ${what} was not sent because the Redis client is ${client.status}. The message is retried later (fail-closed) or handled without dedupe (fail-open).`,
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UnavailableError(
            `Redis idempotency store: ${what} got no answer within ${timeoutMs} ms (timeoutMs). Redis is down or overloaded; the command may still run later.`,
          ),
        ),
      timeoutMs,
    );
  });
  const call = async () => {
    try {
      return await client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      // EVAL also loads the script into the server's cache, so the next EVALSHA hits.
      return await client.eval(script.source, keys.length, ...keys, ...args);
    }
  };
  try {
    return await Promise.race([call(), timeout]);
  } catch (error) {
    throw toStoreError(error, what);
  } finally {
    clearTimeout(timer);
  }
}
