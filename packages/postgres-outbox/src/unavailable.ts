// Tells connection failures (retry later) from SQL errors (a bug or a missing table).
import { UnavailableError } from '@eda/core';

/** SQLSTATE classes that mean the server or connection went away, or the server is overloaded. */
const TRANSIENT = /^(08|53|57P0|40001|40P01)/;

/** True when `error` is a connection-level failure that a later retry can overcome. */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string')
    return TRANSIENT.test(code) || /^E(CONN|PIPE|TIMEDOUT|HOSTUNREACH)/.test(code);
  // pg rejects with plain Errors, without a code, when the connection ends under a query.
  return error instanceof Error && /connection|terminat|timeout/i.test(error.message);
}

/** Re-throws connection failures as UnavailableError naming the adapter; others unchanged. */
export function rethrowUnavailable(adapter: string, what: string, error: unknown): never {
  if (isTransient(error)) {
    throw new UnavailableError(
      `${adapter}: PostgreSQL could not be reached for ${what}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  throw error;
}
