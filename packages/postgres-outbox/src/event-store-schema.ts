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

/** The quoted, schema-qualified name of the table's append function. */
export function appendFunction(t: TableName): string {
  return `"${t.schema}".${t.derived('append')}`;
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
 *
 * Next to the table it creates (or replaces) the function `<table>_append`, which appends in
 * one statement whose plan the server caches per session: versions `expected + 1...`, inserted
 * only when version `expected` exists (or `expected` is 0); it returns how many rows it
 * inserted, and a taken version fails on the primary key.
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
create unique index if not exists ${t.derived('global_order')} on ${t.qualified} (tx_order, seq);
create or replace function ${appendFunction(t)}(
  p_stream text, p_expected integer, p_types text[], p_schema_versions integer[], p_data jsonb
) returns integer
language plpgsql volatile
as $append$
declare
  inserted integer;
begin
  insert into ${t.qualified} (stream, version, type, schema_version, data, tx_order)
  select p_stream, p_expected + e.o::int, e.type, e.schema_version, e.data,
    greatest(
      pg_current_xact_id(),
      (select p.tx_order from ${t.qualified} p where p.stream = p_stream and p.version = p_expected)
    )
  from rows from (unnest(p_types), unnest(p_schema_versions), jsonb_array_elements(p_data))
    with ordinality as e(type, schema_version, data, o)
  where p_expected = 0
    or exists (select 1 from ${t.qualified} p where p.stream = p_stream and p.version = p_expected);
  get diagnostics inserted = row_count;
  return inserted;
end
$append$;`;
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
