// The same-client rule of every writer in this package (outbox add, event store append): what
// is written must go through the client on which the caller ran BEGIN, so it commits or rolls
// back with the caller's own changes. A pool, an autocommit client or a failed transaction is
// refused before any SQL.
import { ConfigurationError } from '@eda/core';
import type pg from 'pg';
import type { SqlTransaction } from './sql-client.js';

/** A pg.Pool, as far as this package needs to recognise one. */
export interface PoolWithOptions {
  readonly options: pg.ClientConfig;
  readonly totalCount: number;
}

/** True for a `pg.Pool` (which runs each query on any connection). */
export function isPgPool(pool: unknown): pool is PoolWithOptions {
  return (
    typeof pool === 'object' &&
    pool !== null &&
    'options' in pool &&
    'totalCount' in pool &&
    typeof (pool as { connect?: unknown }).connect === 'function'
  );
}

/**
 * Checks that `transaction` is a client inside an open transaction.
 * @param adapter - the adapter name the message starts with.
 * @param operation - the call that was given the handle, such as `add()`.
 * @throws ConfigurationError for a missing handle, a pool, a client outside a transaction or
 * one whose transaction failed.
 */
export function assertTransaction(
  adapter: string,
  operation: string,
  transaction: unknown,
): asserts transaction is SqlTransaction {
  const handle = transaction as SqlTransaction | undefined;
  if (!handle || typeof handle.query !== 'function') {
    throw new ConfigurationError(
      `${adapter}: ${operation} needs a pg client inside a transaction (after BEGIN), got ${handle === null ? 'null' : typeof handle}: use withTransaction(pool, (client) => ...).`,
    );
  }
  if (isPgPool(handle)) {
    throw new ConfigurationError(
      `${adapter}: ${operation} was given a pool; a pool runs each query on any connection, outside your transaction. Pass the client on which you ran BEGIN, or use withTransaction(pool, (client) => ...).`,
    );
  }
  const status =
    typeof handle.getTransactionStatus === 'function' ? handle.getTransactionStatus() : null;
  if (status === 'I') {
    throw new ConfigurationError(
      `${adapter}: ${operation} was given a client that is not inside a transaction (no BEGIN, or the transaction already ended), so what it writes or reads is not part of your business change. Run BEGIN first (and await it), or use withTransaction(pool, (client) => ...).`,
    );
  }
  if (status === 'E') {
    throw new ConfigurationError(
      `${adapter}: ${operation} was given a client whose transaction already failed; roll it back and start again.`,
    );
  }
}
