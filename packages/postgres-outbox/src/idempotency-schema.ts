// The table of the PostgreSQL idempotency store: one row per dedupe key with its claim state.
import { runDdl } from './ddl.js';
import { type TableName, tableName } from './identifiers.js';
import type { SqlClient } from './sql-client.js';

/** Where the idempotency table lives. */
export interface IdempotencyTableOptions {
  /** Schema of the table (created if missing). @default 'public' */
  readonly schema?: string;
  /** Table name, at most 48 characters. @default 'eda_idempotency' */
  readonly table?: string;
}

export const IDEMPOTENCY_ADAPTER = 'postgres-idempotency';

/** Validated names of an idempotency table. @throws ConfigurationError for an invalid name. */
export function idempotencyTable(options: IdempotencyTableOptions = {}): TableName {
  return tableName(
    IDEMPOTENCY_ADAPTER,
    options.schema ?? 'public',
    options.table ?? 'eda_idempotency',
  );
}

/**
 * The DDL of the idempotency table, idempotent.
 * @throws ConfigurationError when the schema or table name is not a valid identifier.
 */
export function idempotencySchemaSql(options: IdempotencyTableOptions = {}): string {
  const t = idempotencyTable(options);
  return `create schema if not exists "${t.schema}";
create table if not exists ${t.qualified} (
  key text primary key,
  state text not null check (state in ('in-progress', 'done', 'free')),
  token text not null,
  expires_at timestamptz not null,
  applied_version bigint
);
create index if not exists ${t.derived('expires_at')} on ${t.qualified} (expires_at);`;
}

/**
 * Creates the idempotency schema and table if they do not exist. Safe to call concurrently.
 * @throws ConfigurationError for an invalid name; the database error when the DDL fails.
 */
export async function ensureIdempotencySchema(
  client: SqlClient,
  options: IdempotencyTableOptions = {},
): Promise<void> {
  await runDdl(client, idempotencyTable(options).qualified, idempotencySchemaSql(options));
}
