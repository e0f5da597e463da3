// The claim's SQL, shared by the store (statements sent as text) and the schema (server-side
// claim functions, whose plans PostgreSQL caches per session instead of planning every claim).
import { advisoryLockKey } from './ddl.js';
import type { TableName } from './identifiers.js';

/** What a claim returns of each row (`o` is the outbox table). */
export const CLAIMED_COLUMNS =
  'o.seq::text as seq, o.txid::text as txid, o.payload, o.headers, o.attempts';

/**
 * Which rows a claim may take: behind the commit-order fence, not leased, not waiting for a
 * retry, and not behind an unfinished earlier record of their aggregate; oldest first, locked
 * with `FOR UPDATE SKIP LOCKED`. `limit` is an SQL expression (a literal or a parameter).
 */
export function pickSql(
  table: string,
  limit: string,
  gate: string,
  columns = CLAIMED_COLUMNS,
): string {
  return `with clock as materialized (select clock_timestamp() as now)
select ${columns}
from ${table} o, clock
where ${gate}
  and o.status = 'pending'
  -- the commit-order fence: every transaction older than the oldest still running has ended,
  -- so no row can still appear before the rows admitted here
  and o.txid < pg_snapshot_xmin(pg_current_snapshot())
  and o.available_at <= clock.now
  and o.lease_until <= clock.now
  and not exists (
    select 1 from ${table} e
    where o.aggregateid is not null
      and e.aggregateid = o.aggregateid
      and e.status = 'pending'
      and (e.txid, e.seq) < (o.txid, o.seq)
      and (e.lease_until > clock.now or e.available_at > clock.now)
  )
order by o.txid, o.seq
limit ${limit}
for update of o skip locked`;
}

/**
 * The claim functions' fast path, for a batch that ends at `(bound_txid, bound_seq)` (PL/pgSQL
 * variables): when no pending row up to the bound is leased or waiting for a retry, no earlier
 * record can hold back any row up to the bound, so the rows are taken without a per-aggregate
 * probe per row. The check is an uncorrelated subquery (evaluated once, one walk of the pending
 * index up to the bound) in the same statement, so it holds for the very snapshot the rows are
 * selected from. It reads at most `limit + 1` rows: more pending rows up to the bound than the
 * bound was computed from means some of them were not claimable, so the check fails too. When it
 * fails the statement returns nothing and the function runs the exact `pickSql`. Any bound is
 * safe: it only limits which rows the fast path may take (rows up to it are all behind the
 * fence, so none can still appear).
 */
export function boundedPickSql(table: string, limit: string, columns = CLAIMED_COLUMNS): string {
  return `with clock as materialized (select clock_timestamp() as now)
select ${columns}
from ${table} o, clock
where o.status = 'pending'
  and o.txid < pg_snapshot_xmin(pg_current_snapshot())
  and (o.txid, o.seq) <= (bound_txid, bound_seq)
  and o.available_at <= clock.now
  and o.lease_until <= clock.now
  and (
    select count(*) filter (where p.blocked) = 0 and count(*) <= ${limit}
    from (
      select (e.lease_until > c.now or e.available_at > c.now) as blocked
      from ${table} e, clock c
      where e.status = 'pending' and (e.txid, e.seq) <= (bound_txid, bound_seq)
      order by e.txid, e.seq
      limit ${limit} + 1
    ) p
  )
order by o.txid, o.seq
limit ${limit}
for update of o skip locked`;
}

/**
 * PL/pgSQL: sets `bound_txid, bound_seq` to the last of the first `claim_limit` rows that are
 * behind the fence and neither leased nor waiting (the end of the batch the fast path may take),
 * and returns no rows when there is none.
 */
function boundSql(table: string): string {
  return `select b.txid, b.seq into bound_txid, bound_seq
  from (
    select o.txid, o.seq from ${table} o
    where o.status = 'pending'
      and o.txid < pg_snapshot_xmin(pg_current_snapshot())
      and o.available_at <= clock_timestamp()
      and o.lease_until <= clock_timestamp()
    order by o.txid, o.seq
    limit claim_limit
  ) b
  order by b.txid desc, b.seq desc
  limit 1;
  if not found then
    return;
  end if;`;
}

/** The lease write of the rows `picked` selects (`o.seq`); `leaseMs` is an SQL expression. */
function leaseWriteSql(table: string, picked: string, leaseMs: string): string {
  return `with picked as (${picked})
update ${table} o
set lease_until = clock_timestamp() + ${leaseMs} * interval '1 millisecond'
from picked
where o.seq = picked.seq
returning ${CLAIMED_COLUMNS}`;
}

/** Picks rows as `pickSql` does and writes their lease; `leaseMs` is an SQL expression. */
export function leaseUpdateSql(table: string, limit: string, leaseMs: string): string {
  return leaseWriteSql(table, pickSql(table, limit, 'true', 'o.seq'), leaseMs);
}

/** Names of the server-side claim functions of a table (quoted, schema-qualified). */
export function claimFunctions(t: TableName): { lease: string; lock: string } {
  const schema = `"${t.schema}"`;
  return {
    lease: `${schema}.${t.derived('claim_lease')}`,
    lock: `${schema}.${t.derived('claim_lock')}`,
  };
}

/** The signature `to_regprocedure` checks, to find out whether the functions were created. */
export function claimFunctionSignature(name: string): string {
  return `${name}(integer,bigint)`;
}

const RETURNS =
  'returns table (seq text, txid text, payload bytea, headers jsonb, attempts integer)';

/**
 * DDL of the two claim functions. Each runs its statements in order inside the caller's
 * transaction: being volatile PL/pgSQL, every statement takes a new snapshot, so the selection,
 * which runs after the advisory lock was granted, sees everything the previous holder committed
 * (as the separate statements of the text claim do), and its plan is cached for the session.
 *
 * - lease: the claim advisory lock (waiting), `synchronous_commit = off` for the claim's own
 *   transaction, then the lease write; returns the leased rows.
 * - lock: `idle_in_transaction_session_timeout = leaseMs` for the caller's transaction, the
 *   claim lock if free (else no rows), then the selection with row locks.
 */
export function claimFunctionsSql(t: TableName): string {
  const { lease, lock } = claimFunctions(t);
  const table = t.qualified;
  const key = advisoryLockKey(table, 'claim');
  return `create or replace function ${lease}(claim_limit integer, lease_ms bigint)
${RETURNS}
language plpgsql volatile as $claim$
#variable_conflict use_column
declare
  bound_txid xid8;
  bound_seq bigint;
begin
  perform set_config('synchronous_commit', 'off', true);
  perform pg_advisory_xact_lock(${key});
  ${boundSql(table)}
  return query ${leaseWriteSql(table, boundedPickSql(table, 'claim_limit', 'o.seq'), 'lease_ms')};
  if found then
    return;
  end if;
  return query ${leaseUpdateSql(table, 'claim_limit', 'lease_ms')};
end
$claim$;
create or replace function ${lock}(claim_limit integer, lease_ms bigint)
${RETURNS}
language plpgsql volatile as $claim$
#variable_conflict use_column
declare
  bound_txid xid8;
  bound_seq bigint;
begin
  perform set_config('idle_in_transaction_session_timeout', lease_ms::text, true);
  if not pg_try_advisory_xact_lock(${key}) then
    return;
  end if;
  ${boundSql(table)}
  return query ${boundedPickSql(table, 'claim_limit')};
  if found then
    return;
  end if;
  return query ${pickSql(table, 'claim_limit', 'true')};
end
$claim$;`;
}
