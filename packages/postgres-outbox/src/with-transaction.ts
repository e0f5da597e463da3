// Runs a function in a transaction on a client checked out of a pool: the usual way to write
// business state and outbox messages together.
import { ConfigurationError } from '@eda/core';
import type { PooledSqlClient, SqlPool } from './sql-client.js';

/**
 * Checks out a client, runs `BEGIN`, calls `fn(client)`, then `COMMIT` if it resolved or
 * `ROLLBACK` if it threw, and releases the client (discarding it if the rollback failed).
 * Pass the client to `bus.publish(..., { transaction: client })` and to your own queries.
 *
 * Guarantees: what `fn` wrote through the client, outbox rows included, is committed together
 * or not at all.
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
  const client = await pool.connect();
  // A connection whose BEGIN, COMMIT or ROLLBACK failed is in an unknown state: discard it.
  let discard: Error | undefined;
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
    client.release(discard);
  }
}
