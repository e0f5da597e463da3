// SQL identifiers that come from options (schema, table, channel names) are validated and
// quoted here, so no option can inject SQL.
import { ConfigurationError } from '@eda/core';

/** Letters, digits and underscores, starting with a letter or underscore. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks an identifier given in options and returns it double-quoted for SQL.
 * @param what - what the identifier names, for the error message (such as `table`).
 * @param maxLength - longest accepted name; tables leave room for derived index names.
 * @throws ConfigurationError naming the option and the accepted form.
 */
export function quoteIdentifier(
  adapter: string,
  what: string,
  name: unknown,
  maxLength = 63,
): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || name.length > maxLength) {
    throw new ConfigurationError(
      `${adapter}: ${what} ${JSON.stringify(name)} is not a valid identifier: use 1 to ${maxLength} letters, digits or underscores, starting with a letter or underscore.`,
    );
  }
  return `"${name}"`;
}

/** A schema-qualified table whose names were validated. */
export interface TableName {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`, safe to put in SQL. */
  readonly qualified: string;
  /** Quotes a name derived from the table (index, channel), such as `"<table>_pending"`. */
  derived(suffix: string): string;
}

/** Validates and quotes a schema and table name pair. */
export function tableName(adapter: string, schema: string, table: string): TableName {
  const quotedSchema = quoteIdentifier(adapter, 'schema', schema);
  // 48 leaves room for the suffixes of index names within PostgreSQL's 63-byte limit.
  const quotedTable = quoteIdentifier(adapter, 'table', table, 48);
  return {
    schema,
    table,
    qualified: `${quotedSchema}.${quotedTable}`,
    derived: (suffix) => `"${table}_${suffix}"`,
  };
}
