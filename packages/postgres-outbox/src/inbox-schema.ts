// The inbox table: one row per (consumer, message source, message id) handled, committed in the
// same transaction as the handler's own writes.
import { runDdl } from './ddl.js';
import { type TableName, tableName } from './identifiers.js';
import type { SqlClient } from './sql-client.js';

/** Where the inbox table lives. */
export interface InboxTableOptions {
  /** Schema of the table (created if missing). @default 'public' */
  readonly schema?: string;
  /** Table name, at most 48 characters. @default 'eda_inbox' */
  readonly table?: string;
}

export const INBOX_ADAPTER = 'postgres-inbox';

/** Validated names of an inbox table. @throws ConfigurationError for an invalid name. */
export function inboxTable(options: InboxTableOptions = {}): TableName {
  return tableName(INBOX_ADAPTER, options.schema ?? 'public', options.table ?? 'eda_inbox');
}

/**
 * The DDL of the inbox table, idempotent. Run it from your migrations or call `ensureInboxSchema`.
 * @throws ConfigurationError when the schema or table name is not a valid identifier.
 */
export function inboxSchemaSql(options: InboxTableOptions = {}): string {
  const t = inboxTable(options);
  return `create schema if not exists "${t.schema}";
create table if not exists ${t.qualified} (
  consumer text not null,
  message_source text not null,
  message_id text not null,
  message_type text not null,
  handled_at timestamptz not null default now(),
  primary key (consumer, message_source, message_id)
);
create index if not exists ${t.derived('handled_at')} on ${t.qualified} (handled_at);`;
}

/**
 * Creates the inbox schema and table if they do not exist. Safe to call from several processes.
 * @throws ConfigurationError for an invalid name; the database error when the DDL fails.
 */
export async function ensureInboxSchema(
  client: SqlClient,
  options: InboxTableOptions = {},
): Promise<void> {
  await runDdl(client, inboxTable(options).qualified, inboxSchemaSql(options));
}
