// When a ledger row became visible, stamped by PostgreSQL itself. A deferred constraint trigger
// runs at COMMIT, so clock_timestamp() there is the commit moment (less the WAL flush), where the
// ledger's own recorded_at (now()) is when its transaction began: an inventory transaction stays
// open while its handler publishes, so the begin time would flatter the latency.
import type pg from 'pg';

/** The stamps table of `schema`, filled for the rows of the ledgers given to `stampCommits`. */
export function commitStampsTableSql(schema: string): string {
  return `create table if not exists "${schema}".commit_stamps (
  ledger text not null,
  order_id text not null,
  effect text not null,
  committed_at timestamptz not null
);
create or replace function "${schema}".stamp_commit() returns trigger language plpgsql as $$
begin
  insert into "${schema}".commit_stamps values (tg_table_name, new.order_id, new.effect, clock_timestamp());
  return null;
end $$`;
}

/** Stamps the commit of every `paid` and `reserved` row of `"schema".table` (a ledger). */
export async function stampCommits(pool: pg.Pool, schema: string, table: string): Promise<void> {
  await pool.query(commitStampsTableSql(schema));
  await pool.query(`create constraint trigger stamp_commit after insert on "${schema}"."${table}"
  deferrable initially deferred for each row
  when (new.effect in ('paid', 'reserved'))
  execute function "${schema}".stamp_commit()`);
}

/** Commit times (ms since the epoch) of one order's payment and reservation. */
export interface OrderCommits {
  readonly orderId: string;
  readonly paidAt: number;
  readonly reservedAt: number;
}

/** How many orders whose id starts with `prefix` are reserved in `table`. */
export async function countReserved(
  pool: pg.Pool,
  schema: string,
  table: string,
  prefix: string,
): Promise<number> {
  const { rows } = await pool.query(
    `select count(*)::int as n from "${schema}".commit_stamps
     where ledger = $1 and effect = 'reserved' and starts_with(order_id, $2)`,
    [table, prefix],
  );
  return rows[0].n as number;
}

/** Payment and reservation commit times of the orders whose id starts with `prefix`. */
export async function readOrderCommits(
  pool: pg.Pool,
  schema: string,
  table: string,
  prefix: string,
): Promise<OrderCommits[]> {
  const { rows } = await pool.query(
    `select order_id as "orderId",
       extract(epoch from min(committed_at) filter (where effect = 'paid')) * 1000 as "paidAt",
       extract(epoch from min(committed_at) filter (where effect = 'reserved')) * 1000 as "reservedAt"
     from "${schema}".commit_stamps
     where ledger = $1 and starts_with(order_id, $2)
     group by order_id`,
    [table, prefix],
  );
  return rows.map((r) => ({
    orderId: r.orderId as string,
    paidAt: Number(r.paidAt),
    reservedAt: Number(r.reservedAt),
  }));
}
