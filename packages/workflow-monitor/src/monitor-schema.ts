// The tables of the PostgreSQL monitor store: audit records (one row each, deduplicated by
// record id) and flow summaries (one row per correlation id, with the fields queries filter on).
import { ConfigurationError } from '@eda/core';
import type { SqlClient } from './sql-client.js';

/** Where the monitor's tables live. */
export interface MonitorTableOptions {
  /** Schema of the tables (created if missing). @default 'public' */
  readonly schema?: string;
  /** Prefix of the table names: `<prefix>_records` and `<prefix>_flows`, at most 40 characters. @default 'eda_monitor' */
  readonly tablePrefix?: string;
}

/** Validated, quoted names of the monitor's tables. */
export interface MonitorTables {
  readonly schema: string;
  readonly records: string;
  readonly flows: string;
  /** A quoted index name derived from the prefix. */
  index(suffix: string): string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checked(what: string, name: string, maxLength: number): string {
  if (!IDENTIFIER.test(name) || name.length > maxLength)
    throw new ConfigurationError(
      `postgres monitor store: ${what} ${JSON.stringify(name)} is not a valid identifier: use 1 to ${maxLength} letters, digits or underscores, starting with a letter or underscore.`,
    );
  return name;
}

/** The tables' names. @throws ConfigurationError for a name that is not a plain identifier. */
export function monitorTables(options: MonitorTableOptions = {}): MonitorTables {
  const schema = checked('schema', options.schema ?? 'public', 63);
  // 40 leaves room for the longest derived name within PostgreSQL's 63 bytes.
  const prefix = checked('tablePrefix', options.tablePrefix ?? 'eda_monitor', 40);
  return {
    schema,
    records: `"${schema}"."${prefix}_records"`,
    flows: `"${schema}"."${prefix}_flows"`,
    index: (suffix) => `"${prefix}_${suffix}"`,
  };
}

/** The DDL of the monitor's tables, idempotent. */
export function monitorSchemaSql(options: MonitorTableOptions = {}): string {
  const t = monitorTables(options);
  return `create schema if not exists "${t.schema}";
create table if not exists ${t.records} (
  record_id text primary key,
  correlation_id text not null,
  at bigint not null,
  record jsonb not null
);
create index if not exists ${t.index('records_flow')} on ${t.records} (correlation_id, at, record_id collate "C");
create table if not exists ${t.flows} (
  correlation_id text primary key,
  workflow text,
  state text not null,
  last_at bigint not null,
  ended_at bigint,
  due_at bigint,
  summary jsonb
);
create index if not exists ${t.index('flows_due')} on ${t.flows} (due_at) where due_at is not null;
create index if not exists ${t.index('flows_active')} on ${t.flows} (last_at desc);
create index if not exists ${t.index('flows_ended')} on ${t.flows} (state, ended_at);`;
}

/**
 * Creates the schema and tables if they do not exist. Safe to call from several monitors at
 * once (an advisory lock serializes the DDL).
 * @throws ConfigurationError for an invalid name; the database error when the DDL fails.
 */
export async function ensureMonitorSchema(
  client: SqlClient,
  options: MonitorTableOptions = {},
): Promise<void> {
  const t = monitorTables(options);
  await client.query(
    `begin;\nselect pg_advisory_xact_lock(hashtext(${quoteLiteral(`eda-monitor-ddl:${t.flows}`)}));\n${monitorSchemaSql(options)}\ncommit;`,
  );
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
