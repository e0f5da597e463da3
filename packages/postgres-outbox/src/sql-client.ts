// The small slice of the pg API this package uses. A pg Pool, PoolClient or Client fits it, and
// so does any client with the same `query` shape.

/** The result of a query: rows as objects, and the affected row count. */
export interface SqlResult {
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number | null;
}

/** Anything that runs SQL with `$1` parameters, like `pg.Client`, `pg.PoolClient` or `pg.Pool`. */
export interface SqlClient {
  // A method (not a property) so pg's overloaded `query` is assignable to it.
  query(text: string, values?: unknown[]): Promise<SqlResult>;
}

/** A client checked out of a pool; `release(error)` discards a broken connection. */
export interface PooledSqlClient extends SqlClient {
  release(error?: Error | boolean): void;
}

/** A connection pool, like `pg.Pool`. */
export interface SqlPool extends SqlClient {
  connect(): Promise<PooledSqlClient>;
}

/**
 * A transaction handle: a client on which `BEGIN` was run. pg's clients also report their
 * transaction status, which the writer checks so that an autocommit client is refused.
 */
export interface SqlTransaction extends SqlClient {
  getTransactionStatus?(): string | null;
}

/** Runs a multi-statement SQL text (simple protocol) and returns the last statement's result. */
export async function queryLast(client: SqlClient, text: string): Promise<SqlResult> {
  const result = (await client.query(text)) as SqlResult | SqlResult[];
  if (Array.isArray(result)) {
    const last = result[result.length - 1];
    if (!last) return { rows: [], rowCount: 0 };
    return last;
  }
  return result;
}
