// Runs a function in a transaction on a client checked out of a pool: the usual way to write
// business state and outbox messages together.
import { ConfigurationError } from '@eda/core';
import { watchClientErrors, watchPoolErrors } from './pool-errors.js';
import type { PooledSqlClient, SqlPool } from './sql-client.js';

/**
 * Checks out a client, runs `BEGIN`, calls `fn(client)`, then `COMMIT` if it resolved or
 * `ROLLBACK` if it threw, and releases the client (discarding it if the rollback failed).
 * Pass the client to `bus.publish(..., { transaction: client })` and to your own queries.
 *
 * Guarantees: what `fn` wrote through the client, outbox rows included, is committed together
 * or not at all. A `pg.Pool` gets this package's shared 'error' listener (see `watchPoolErrors`),
 * and the checked-out client is listened to until it is released, so a terminated backend
 * fails the transaction instead of ending the process.
 * @throws whatever `fn` threw (after the rollback), or the database error of BEGIN or COMMIT.
 */
export async function withTransaction<T>(
  pool: SqlPool,
  fn: (client: PooledSqlClient) => Promise<T>,
): Promise<T> {
  if (!pool || typeof pool.connect !== 'function') {
    throw new ConfigurationError(
      'postgres-outbox: withTransaction needs a pool with connect(), such as a pg.Pool.',
    );
  }
  watchPoolErrors(pool);
  const client = await pool.connect();
  // A connection whose BEGIN, COMMIT or ROLLBACK failed is in an unknown state: discard it.
  let discard: Error | undefined;
  // A backend that ends while `fn` awaits something else must not crash the process; the
  // transaction is lost (its next statement fails) and the connection is discarded.
  const unwatch = watchClientErrors(client, pool, (error) => {
    discard = error;
  });
  const control = async (sql: string) => {
    try {
      await client.query(sql);
    } catch (error) {
      discard = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  };
  try {
    await control('begin');
    let result: T;
    try {
      result = await fn(client);
    } catch (error) {
      await control('rollback').catch(() => undefined);
      throw error;
    }
    await control('commit');
    return result;
  } finally {
    unwatch();
    client.release(discard);
  }
}
