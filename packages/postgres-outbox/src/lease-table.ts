// The batch leases of lease-mode claims: one row per claimed batch in `<table>_leases`, instead
// of a lease written on every claimed row, so a record is written once (by its completion) and
// the claim writes one small row. Completions and failures take their records out of the lease.
import type { TableName } from './identifiers.js';

/** Names of the lease table and of its functions (quoted, qualified). */
export function leaseObjects(t: TableName): { table: string; release: string; hold: string } {
  const schema = `"${t.schema}"`;
  return {
    table: `${schema}.${t.derived('leases')}`,
    release: `${schema}.${t.derived('release')}`,
    hold: `${schema}.${t.derived('hold')}`,
  };
}

/** The signature `to_regprocedure` checks for the release and hold functions. */
export function leaseFunctionSignature(name: string): string {
  return `${name}(bigint,bigint[])`;
}

/**
 * DDL of the lease table and of its two functions.
 *
 * A lease row holds the claimed seqs and, at the same positions, their aggregate ids (null for
 * records without one), so that a claim can skip both the leased records and the aggregates they
 * hold back without reading the outbox rows. Its id is the claim's identity (`claimId` of the
 * records): a settlement names it, and counts only while that row still holds the records. A
 * batch's arrays exceed PostgreSQL's 2 kB TOAST threshold; `storage external` stores them out
 * of line uncompressed: the default (`extended`) would compress them with pglz first, which
 * costs about 0.5 ms per claim of 500 records. It is set only when the table is created: `alter
 * table` takes an exclusive lock, which `ensureOutboxSchema`, run at every start of a service,
 * would wait for and hold against relays.
 *
 * `<table>_hold(claim, seqs)` locks the lease row `claim` and says whether it still holds every
 * one of `seqs`. A lease row is deleted when its batch is settled or, once expired, by the next
 * claim (the takeover, see `claimFunctionsSql`): a relay that stalled past its lease and
 * settles late finds its row gone, and its settlement changes nothing, neither the new holder's
 * lease nor the rows' status. An expired row that no claim deleted yet still holds its records:
 * nobody took them, so the late settlement counts. The row lock, taken before the outbox rows'
 * locks, makes a settlement and the claim that deletes the row take turns: whichever comes
 * second sees what the first committed. Every caller takes a lease row's lock before outbox rows'
 * locks (claims lock lease rows and no outbox row, or lease rows first), so there is no
 * lock-order deadlock.
 *
 * `<table>_release(claim, seqs)` takes the records out of the lease row `claim` and deletes the
 * row once empty. The usual call releases a whole batch in claim order, which equals the lease's
 * array (one comparison). Otherwise (a batch settled in parts: the relay completes the published
 * prefix and fails the rest) the update computes what stays. Membership is tested with `NOT IN`
 * on the unnested array, a hashed subplan: `@>` and `&&` compare every element with every other
 * one (500 x 500 per lease row).
 *
 * Both run with `jit = off`, as the claim functions do (see `claimFunctionsSql`): their
 * statements are cheap, and their estimates grow with the lease table's statistics.
 *
 * The release commits the caller's transaction without waiting for the WAL flush
 * (`synchronous_commit = off`, as the claim does): a completion or failure lost in a database
 * crash leaves its records pending and leased, so they are published again after the lease (at
 * least once allows it). Measured here, that flush is about 0.1 ms of a completion: draining at
 * batch 1 went from about 860 to 1,200 events/s (at batch 500 the difference was within the
 * noise).
 */
export function leaseTableSql(t: TableName): string {
  const { table, release, hold } = leaseObjects(t);
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
create or replace function ${hold}(claim bigint, held bigint[])
returns boolean
language plpgsql volatile
set jit = off
as $hold$
begin
  perform 1 from ${table} l
  where l.id = claim
    and (l.seqs = held or not exists (select unnest(held) except select unnest(l.seqs)))
  for update;
  return found;
end
$hold$;
create or replace function ${release}(claim bigint, released bigint[])
returns void
language plpgsql volatile
set jit = off
as $release$
begin
  perform set_config('synchronous_commit', 'off', true);
  delete from ${table} l where l.id = claim and l.seqs = released;
  if found then
    return;
  end if;
  update ${table} l
  set (seqs, aggregates) = (
    select coalesce(array_agg(u.seq), '{}'), coalesce(array_agg(u.aggregate), '{}')
    from unnest(l.seqs, l.aggregates) u(seq, aggregate)
    where u.seq not in (select unnest(released))
  )
  where l.id = claim;
  delete from ${table} l where l.id = claim and l.seqs = '{}';
end
$release$;`;
}
