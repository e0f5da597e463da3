// How a failed Redis call is reported: "Redis is unreachable or slow" becomes core's
// UnavailableError (retryable; core's fail-closed/fail-open policy decides what happens), and
// anything else (a key of the wrong type under our prefix, a script error) becomes a
// RedisDedupeError that is not retryable, so the message is dead-lettered with that reason
// instead of looping.
import { EdaError, UnavailableError } from '@eda/core';
import type { EdaErrorOptions } from '@eda/core/adapter';

/** A Redis reply that retrying cannot fix, such as a foreign value stored under the dedupe prefix. */
export class RedisDedupeError extends EdaError {
  constructor(message: string, options: EdaErrorOptions = {}) {
    super('EDA_REDIS_DEDUPE', message, { retryable: false, ...options });
  }
}

// Server replies that mean "not now" rather than "never": loading after a restart, a busy
// script, a failover or resharding in progress, out of memory.
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|MOVED|ASK|OOM)\b/;

/** Whether a Redis error is the server's NOSCRIPT reply (the script cache was emptied). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Wraps whatever a Redis call threw into the error the store promises. */
export function toStoreError(error: unknown, what: string): EdaError {
  if (EdaError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const isReply = error instanceof Error && error.name === 'ReplyError';
  if (isReply && !TRANSIENT_REPLY.test(message)) {
    return new RedisDedupeError(
      `Redis idempotency store: ${what} was refused by Redis: ${message}. Check that nothing else writes keys under the store's keyPrefix.`,
      { cause: error },
    );
  }
  return new UnavailableError(
    `Redis idempotency store: ${what} failed: ${message}. The message is retried later (fail-closed) or handled without dedupe (fail-open).`,
    { cause: error },
  );
}
