// The event store table: one row per domain event, the (stream, version) primary key as the
// optimistic-concurrency guard, and a global order key that readers follow behind the same
// commit-order fence the outbox uses (see postgres-event-store.ts for why it is a pair).
import { runDdl } from './ddl.js';
import { type TableName, tableName } from './identifiers.js';
import type { SqlClient } from './sql-client.js';

/** Where the event store table lives. */
export interface EventStoreTableOptions {
  /** Schema of the table (created if missing). @default 'public' */
  readonly schema?: string;
  /** Table name, at most 48 characters. @default 'eda_events' */
  readonly table?: string;
}

export const EVENT_STORE_ADAPTER = 'postgres-event-store';

/** Validated names of an event store table. @throws ConfigurationError for an invalid name. */
export function eventStoreTable(options: EventStoreTableOptions = {}): TableName {
  return tableName(EVENT_STORE_ADAPTER, options.schema ?? 'public', options.table ?? 'eda_events');
}

/**
 * The DDL of the event store table and its global-order index, idempotent (`IF NOT EXISTS`).
 * Run it from your migration tool, or call `ensureEventStoreSchema`.
 *
 * Columns: `stream`, `version` (the primary key: two appends of one version cannot both
 * commit), `type`, `schema_version`, `data` (jsonb), `recorded_at`, and the global order key
 * `(tx_order, seq)`: `seq` from an identity, `tx_order` the appending transaction's id, raised
 * to the previous version's `tx_order` when that is higher, so that a stream's versions are in
 * version order globally too.
 * @throws ConfigurationError when the schema or table name is not a valid identifier.
 */
export function eventStoreSchemaSql(options: EventStoreTableOptions = {}): string {
  const t = eventStoreTable(options);
  return `create schema if not exists "${t.schema}";
create table if not exists ${t.qualified} (
  stream text not null,
  version integer not null check (version > 0),
  type text not null,
  schema_version integer not null,
  data jsonb not null,
  recorded_at timestamptz not null default now(),
  tx_order xid8 not null,
  seq bigint generated always as identity,
  constraint ${t.derived('stream_version')} primary key (stream, version)
);
create unique index if not exists ${t.derived('global_order')} on ${t.qualified} (tx_order, seq);`;
}

/**
 * Creates the event store schema, table and index if they do not exist. Safe to call from
 * several processes at once.
 * @throws ConfigurationError for an invalid name; the database error when the DDL fails.
 */
export async function ensureEventStoreSchema(
  client: SqlClient,
  options: EventStoreTableOptions = {},
): Promise<void> {
  await runDdl(client, eventStoreTable(options).qualified, eventStoreSchemaSql(options));
}
