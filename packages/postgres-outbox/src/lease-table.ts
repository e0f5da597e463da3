// The batch leases of lease-mode claims: one row per claimed batch in `<table>_leases`, instead
// of a lease written on every claimed row, so a record is written once (by its completion) and
// the claim writes one small row. Completions and failures take their records out of the lease.
import type { TableName } from './identifiers.js';

/** Names of the lease table and of the function that releases records (quoted, qualified). */
export function leaseObjects(t: TableName): { table: string; release: string } {
  const schema = `"${t.schema}"`;
  return {
    table: `${schema}.${t.derived('leases')}`,
    release: `${schema}.${t.derived('release')}`,
  };
}

/** The signature `to_regprocedure` checks for the release function. */
export function releaseFunctionSignature(name: string): string {
  return `${name}(bigint[])`;
}

/**
 * DDL of the lease table and of `<table>_release(seqs)`.
 *
 * A lease row holds the claimed seqs and, at the same positions, their aggregate ids (null for
 * records without one), so that a claim can skip both the leased records and the aggregates they
 * hold back without reading the outbox rows. A batch's arrays exceed PostgreSQL's 2 kB TOAST
 * threshold; `storage external` stores them out of line uncompressed: the default (`extended`)
 * would compress them with pglz first, which costs about 0.5 ms per claim of 500 records.
 * It is set only when the table is created: `alter table` takes an exclusive lock, which
 * `ensureOutboxSchema`, run at every start of a service, would wait for and hold against relays.
 *
 * `<table>_release(seqs)` takes the records out of the lease holding them and deletes a lease
 * left empty. A record is in at most one lease row: a claim deletes the expired rows before it
 * selects, and selects no record of an active one. The usual call releases a whole batch in claim
 * order, which equals the lease's array (one comparison). Otherwise (a batch settled in parts:
 * the relay completes the published prefix and fails the rest; or a late settlement after the
 * batch was claimed again) the update computes what stays from the row version it updates, so
 * concurrent releases of one row compose. Membership is tested with `NOT IN` on the unnested
 * array, a hashed subplan: `@>` and `&&` compare every element with every other one (500 x 500
 * per lease row), and an `IN` at the top of a `WHERE` would be planned as a join, nested loops
 * for the planner's estimate of 10 elements per array. It is called after the records' own
 * update in the same statement, so it takes a lease row's lock after the outbox rows' locks, as
 * every caller does (no lock-order deadlock).
 *
 * It runs with `jit = off`, as the claim functions do (see `claimFunctionsSql`): its statements
 * are cheap, and their estimates grow with the lease table's statistics.
 *
 * It commits the caller's transaction without waiting for the WAL flush (`synchronous_commit =
 * off`, as the claim does): a completion or failure lost in a database crash leaves its records
 * pending and leased, so they are published again after the lease (at least once allows it).
 * Measured here, that flush is about 0.1 ms of a completion: draining at batch 1 went from about
 * 860 to 1,200 events/s (at batch 500 the difference was within the noise).
 */
export function leaseTableSql(t: TableName): string {
  const { table, release } = leaseObjects(t);
  return `do $leases$
begin
  if to_regclass('${table}') is null then
    create table ${table} (
      id bigint generated always as identity primary key,
      lease_until timestamptz not null,
      seqs bigint[] not null,
      aggregates text[] not null
    );
    alter table ${table} alter column seqs set storage external,
      alter column aggregates set storage external;
  end if;
end
$leases$;
create or replace function ${release}(released bigint[])
returns void
language plpgsql volatile
set jit = off
as $release$
begin
  perform set_config('synchronous_commit', 'off', true);
  delete from ${table} l where l.seqs = released;
  if found then
    return;
  end if;
  update ${table} l
  set (seqs, aggregates) = (
    select coalesce(array_agg(u.seq), '{}'), coalesce(array_agg(u.aggregate), '{}')
    from unnest(l.seqs, l.aggregates) u(seq, aggregate)
    where u.seq not in (select unnest(released))
  )
  where exists (
    select 1 from unnest(l.seqs) s where (s not in (select unnest(released))) is false
  );
  delete from ${table} l where l.seqs = '{}';
end
$release$;`;
}
