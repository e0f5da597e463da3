// The slice of the pg API the PostgreSQL store uses: a pg.Pool fits it, and so does any pool
// with the same shape. Declared here so that the package does not import pg at run time.

/** A query result: rows as objects, and the affected row count. */
export interface SqlResult {
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number | null;
}

/** Anything that runs SQL with `$1` parameters, like `pg.Pool` or `pg.PoolClient`. */
export interface SqlClient {
  // A method (not a property) so that pg's overloaded `query` is assignable to it.
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
