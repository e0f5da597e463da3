// The outbox table. Its first five columns are the ones Debezium's outbox event router reads
// (id, aggregatetype, aggregateid, type, payload), so a team can later replace the relay with
// change-data-capture without touching the writers; the other columns serve this package's relay.
import { claimFunctionsSql } from './claim-sql.js';
import { runDdl } from './ddl.js';
import { type TableName, tableName } from './identifiers.js';
import { leaseTableSql } from './lease-table.js';
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
 * Next to the table it creates the lease table `<table>_leases` (one row per batch a lease-mode
 * relay holds) and creates (or replaces) four functions: the claim functions
 * `<table>_claim_lease` and `<table>_claim_lock` (a claim is one call whose plan the server
 * caches per session), `<table>_hold`, which checks that a settlement comes from the claim that
 * still holds its records, and `<table>_release`, which takes settled records out of their
 * lease. The store needs all of them; for a schema from an earlier version it refuses to claim
 * and asks for this DDL.
 *
 * Indexes on pending rows: `(seq)`, write order, which claims walk; `(txid, seq)`, for the rows
 * still above the commit-order fence; `(aggregateid, seq)`, for the earlier records of an
 * aggregate. Tables of versions that ordered by transaction id keep their
 * `<table>_pending_aggregate` index on `(aggregateid, txid, seq)`, which claims no longer use:
 * drop it at a quiet moment (`drop index concurrently`). Applying this DDL to such a table
 * builds the two new indexes, which blocks writers of the table while they are built.
 *
 * The table uses the default fillfactor. Earlier versions created it with `fillfactor = 50` so
 * that the per-row lease write of each claim was a HOT update; claims no longer write rows, and
 * drains at batch 500 measured as fast or faster at the default (three alternating runs: `mark`
 * -7% to +10%, `delete` +12% to +15%), with half the pages for writers to fill. Such tables
 * keep their setting.
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
  published_at timestamptz,
  last_error text,
  created_at timestamptz not null default now()
);
create index if not exists ${t.derived('pending')} on ${t.qualified} (txid, seq) where status = 'pending';
create index if not exists ${t.derived('pending_seq')} on ${t.qualified} (seq) where status = 'pending';
create index if not exists ${t.derived('pending_aggregate_seq')} on ${t.qualified} (aggregateid, seq) where status = 'pending' and aggregateid is not null;
create index if not exists ${t.derived('published')} on ${t.qualified} (published_at) where status = 'published';
${leaseTableSql(t)}
${claimFunctionsSql(t)}`;
}

/**
 * Creates the outbox schema, table, indexes and lease table if they do not exist, and creates or
 * replaces the claim and release functions. Safe to call from several processes at once.
 * @throws ConfigurationError for an invalid name; the database error when the DDL fails.
 */
export async function ensureOutboxSchema(
  client: SqlClient,
  options: OutboxTableOptions = {},
): Promise<void> {
  await runDdl(client, outboxTable(options).qualified, outboxSchemaSql(options));
}
