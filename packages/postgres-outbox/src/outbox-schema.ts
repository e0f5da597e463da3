// The outbox table. Its first five columns are the ones Debezium's outbox event router reads
// (id, aggregatetype, aggregateid, type, payload), so a team can later replace the relay with
// change-data-capture without touching the writers; the other columns serve this package's relay.
import { claimFunctionsSql } from './claim-sql.js';
import { runDdl } from './ddl.js';
import { type TableName, tableName } from './identifiers.js';
import type { SqlClient } from './sql-client.js';

/** Where the outbox table lives. */
export interface OutboxTableOptions {
  /** Schema of the table (created if missing). @default 'public' */
  readonly schema?: string;
  /** Table name, at most 48 characters. @default 'eda_outbox' */
  readonly table?: string;
}

export const OUTBOX_ADAPTER = 'postgres-outbox';

/** Validated names of an outbox table. @throws ConfigurationError for an invalid name. */
export function outboxTable(options: OutboxTableOptions = {}): TableName {
  return tableName(OUTBOX_ADAPTER, options.schema ?? 'public', options.table ?? 'eda_outbox');
}

/**
 * The DDL of the outbox table and its indexes, idempotent (`IF NOT EXISTS`). Run it from your
 * migration tool, or call `ensureOutboxSchema`.
 *
 * The table is created with `fillfactor = 50`: inserts leave half of each page free, so the
 * claim's lease write is a HOT update (same page, no new index entries) instead of a new row
 * version in every index. Pending rows take about twice the space; an outbox is short-lived.
 * For a table created before, `alter table ... set (fillfactor = 50)` applies to new pages.
 *
 * It also creates (or replaces) two claim functions, `<table>_claim_lease` and
 * `<table>_claim_lock`: a claim then runs as one call whose plan the server caches per session,
 * instead of a statement text planned on every claim. A store whose database lacks them (a schema
 * from an earlier version) sends the same statements as text.
 * @throws ConfigurationError when the schema or table name is not a valid identifier.
 */
export function outboxSchemaSql(options: OutboxTableOptions = {}): string {
  const t = outboxTable(options);
  return `create schema if not exists "${t.schema}";
create table if not exists ${t.qualified} (
  -- Debezium outbox event router columns.
  id text not null,
  aggregatetype text not null,
  aggregateid text,
  type text not null,
  payload bytea not null,
  -- Relay columns.
  seq bigint generated always as identity primary key,
  headers jsonb not null,
  kind text not null default 'event' check (kind in ('event', 'command')),
  txid xid8 not null default pg_current_xact_id(),
  status text not null default 'pending' check (status in ('pending', 'published', 'dead')),
  attempts integer not null default 0,
  available_at timestamptz not null default now(),
  lease_until timestamptz not null default '-infinity',
  published_at timestamptz,
  last_error text,
  created_at timestamptz not null default now()
) with (fillfactor = 50);
create index if not exists ${t.derived('pending')} on ${t.qualified} (txid, seq) where status = 'pending';
create index if not exists ${t.derived('pending_aggregate')} on ${t.qualified} (aggregateid, txid, seq) where status = 'pending' and aggregateid is not null;
create index if not exists ${t.derived('published')} on ${t.qualified} (published_at) where status = 'published';
${claimFunctionsSql(t)}`;
}

/**
 * Creates the outbox schema, table and indexes if they do not exist, and creates or replaces the
 * claim functions. Safe to call from several processes at once.
 * @throws ConfigurationError for an invalid name; the database error when the DDL fails.
 */
export async function ensureOutboxSchema(
  client: SqlClient,
  options: OutboxTableOptions = {},
): Promise<void> {
  await runDdl(client, outboxTable(options).qualified, outboxSchemaSql(options));
}
