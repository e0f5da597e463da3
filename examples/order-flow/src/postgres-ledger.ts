// The ledger as a PostgreSQL table. Deliberately without a unique key: a doubled effect must
// show up as a second row, not be hidden by a constraint.
import { currentInboxTransaction, type SqlClient } from '@eda/postgres-outbox';
import { countLedger, type Ledger, type LedgerEntry } from './ledger.js';

/**
 * `create table if not exists` for the ledger of `schema` (which must exist), with an index on
 * the order, for `has` (payments looks up every order it pays).
 */
export function ledgerSchemaSql(schema: string): string {
  return `create table if not exists "${schema}".ledger (
  seq bigint generated always as identity primary key,
  service text not null,
  order_id text not null,
  effect text not null,
  recorded_at timestamptz not null default now()
);
create index if not exists ledger_order on "${schema}".ledger (order_id)`;
}

/**
 * A ledger in `"schema".ledger`. An entry is written in the given transaction, else in the
 * inbox transaction of the message being handled, else on its own through `pool`.
 */
export function createPostgresLedger(pool: SqlClient, schema: string): Ledger {
  const insert = `insert into "${schema}".ledger (service, order_id, effect) values ($1, $2, $3)`;
  const exists = `select 1 from "${schema}".ledger where service = $1 and order_id = $2 and effect = $3 limit 1`;
  const clientFor = (transaction: unknown) =>
    (transaction as SqlClient | undefined) ?? currentInboxTransaction() ?? pool;
  return {
    async record(entry: LedgerEntry, transaction?: unknown) {
      await clientFor(transaction).query(insert, [entry.service, entry.orderId, entry.effect]);
    },
    async has(entry: LedgerEntry, transaction?: unknown) {
      const { rows } = await clientFor(transaction).query(exists, [
        entry.service,
        entry.orderId,
        entry.effect,
      ]);
      return rows.length > 0;
    },
  };
}

/** How many times each service applied each effect, per order: `counts.get(orderId)['inventory:reserved']`. */
export async function readLedgerCounts(
  client: SqlClient,
  schema: string,
): Promise<Map<string, Record<string, number>>> {
  const { rows } = await client.query(
    `select service, order_id as "orderId", effect from "${schema}".ledger order by seq`,
  );
  return countLedger(rows as unknown as LedgerEntry[]);
}
