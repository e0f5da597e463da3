// The server-side claim functions of both claim modes. A claim is one call whose plans PostgreSQL
// caches per session; both modes select with the same rules, so relays of both modes can share a
// table: a lease-mode claim leases its batch with one row in `<table>_leases`, a lock-mode claim
// holds its rows' locks, and each skips what the other holds.
import { advisoryLockKey } from './ddl.js';
import type { TableName } from './identifiers.js';
import { leaseObjects } from './lease-table.js';

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

/**
 * The head of a claim function, up to its `declare` section (which the caller may extend): the
 * signature `claimFunctionSignature` checks, what a claim returns of each row (`claim_id` is the
 * lease row's id in lease mode, null in lock mode), its settings (see `claimFunctionsSql`), its
 * clock `claim_now` and its commit-order fence `fence`.
 *
 * Versions before the claim id returned five columns; PostgreSQL cannot replace a function with
 * a different result type, so such a function is dropped first (only then: dropping it on every
 * start would make running claims of other relays fail for a moment).
 */
function claimFunctionHead(name: string): string {
  const signature = claimFunctionSignature(name).replaceAll("'", "''");
  return `do $drop$
begin
  if to_regprocedure('${signature}') is not null
    and pg_get_function_result(to_regprocedure('${signature}')) not like '%claim_id%' then
    drop function ${name}(integer, bigint);
  end if;
end
$drop$;
create or replace function ${name}(claim_limit integer, lease_ms bigint)
returns table (seq text, txid text, payload bytea, headers jsonb, attempts integer, claim_id text)
language plpgsql volatile
set jit = off
as $claim$
#variable_conflict use_column
declare
  claim_now timestamptz;
  fence xid8;`;
}

/** The returned columns but the claim id, from a relation `r` with the outbox's column names. */
const returned = (r: string) =>
  `${r}.seq::text, ${r}.txid::text, ${r}.payload, ${r}.headers, ${r}.attempts`;

/**
 * Columns a pick keeps: the returned ones, the aggregate (for the lease row and for lock mode's
 * blocking), and the retry time for the fast path's check.
 */
const PICKED = 'o.seq, o.txid, o.payload, o.headers, o.attempts, o.aggregateid, o.available_at';

/**
 * The fence: `pg_snapshot_xmin` when the claim began, the oldest transaction still running. A
 * row of a transaction older than it can no longer be joined by rows its transaction has not
 * committed yet; a row at or above it may still be (its transaction, or one that began before,
 * may still write). The value is read once per claim: a fence read earlier is never above the
 * one a later statement would read, so every statement of the claim stays on the safe side.
 */
const FENCE = 'fence := pg_snapshot_xmin(pg_current_snapshot());';

/**
 * Rows that may be claimed as far as the row itself goes: pending, behind the fence, and not
 * waiting for a retry.
 */
const DUE = `o.status = 'pending'
  and o.txid < fence
  and o.available_at <= claim_now`;

/**
 * The exact selection: due rows that are not in an active lease, whose aggregate has no record
 * in an active lease, and that have no earlier-written pending record of their aggregate that
 * waits for a retry or is still above the fence; in write order (`seq`). Write order is the
 * order the writes became visible for writers that conflict (the second writes after seeing the
 * first's commit): a per-aggregate order by transaction id would put a writer that took its id
 * first but wrote last first. A record above the fence holds back the later-written records of
 * its aggregate, which may themselves be behind the fence (their transaction began earlier).
 *
 * The leased seqs and aggregates are hashed subplans (read once per statement from the few
 * lease rows); only the aggregate check probes the aggregate index per row. Its `offset 0`
 * keeps it that way: without it PostgreSQL may turn the check into an anti-join whose inner
 * side it computes once by scanning the whole table (its statistics say no row waits).
 *
 * An aggregate is held back while any of its records is leased, earlier or later. A record is
 * leased only when nothing earlier of its aggregate was leased or waiting, so an earlier pending
 * record that is not leased can only come from the same batch, failed by a caller on its own
 * with no retry delay while the rest of the batch is still out (the relay fails a batch's
 * unpublished suffix in one call); it then waits for that batch instead of passing it.
 */
function exactPickSql(table: string, leases: string, columns: string): string {
  return `select ${columns}
    from ${table} o
    where ${DUE}
      and o.seq not in (
        select s from ${leases} l, unnest(l.seqs) s where l.lease_until > claim_now
      )
      and (
        o.aggregateid is null
        or o.aggregateid not in (
          select a from ${leases} l, unnest(l.aggregates) a
          where l.lease_until > claim_now and a is not null
        )
      )
      and not exists (
        select 1 from ${table} e
        where o.aggregateid is not null
          and e.aggregateid = o.aggregateid
          and e.status = 'pending'
          and e.seq < o.seq
          and (e.available_at > claim_now or e.txid >= fence)
        offset 0
      )
    order by o.seq
    limit claim_limit`;
}

/**
 * The fast path, run only while no lease is active (so no record holds back its aggregate by
 * being leased): the first `claim_limit` pending rows behind the fence in write order, in one
 * walk of the pending index, admitted only if none of them waits for a retry and no pending row
 * above the fence was written before them in one of their aggregates. Then each of them is
 * claimable and they are the oldest claimable rows: exactly what the exact selection would
 * take, without its per-row probes. The second check reads the rows above the fence (the
 * writes of the last moments, or of transactions that began before a long one still running)
 * with one range scan of the `(txid, seq)` index. If the check fails, nothing is admitted and
 * the function runs the exact selection. Both read the rows already selected in the same
 * statement, so they hold for the very snapshot the rows come from.
 */
const HEAD = {
  pick: (table: string) => `select ${PICKED}
      from ${table} o
      where o.status = 'pending' and o.txid < fence
      order by o.seq
      limit claim_limit`,
  admit: (table: string) => `not exists (select 1 from picked w where w.available_at > claim_now)
      and not exists (
        select 1 from ${table} u
        where u.status = 'pending' and u.txid >= fence
          and u.seq < (select max(w.seq) from picked w)
          and u.aggregateid in (select w.aggregateid from picked w where w.aggregateid is not null)
      )`,
};

/**
 * Leases the rows `pick` selects, if `admit` holds, with one lease row, and returns them with
 * the lease row's id as their claim id (the identity that fences their settlement).
 */
function leaseBatchSql(leases: string, pick: string, admit = 'true'): string {
  return `with picked as materialized (${pick}),
    admitted as materialized (select (${admit}) as ok),
    leased as (
      insert into ${leases} (lease_until, seqs, aggregates)
      select claim_now + lease_ms * interval '1 millisecond',
        array_agg(p.seq order by p.seq), array_agg(p.aggregateid order by p.seq)
      from picked p
      where (select ok from admitted)
      having count(*) > 0
      returning id
    )
    select ${returned('p')}, (select l.id::text from leased l)
    from picked p
    where (select ok from admitted)
    order by p.seq`;
}

/**
 * Lock mode, PL/pgSQL: collects the candidates (the rows the same selection as lease mode's
 * picks, without locking them) into `cand_seqs, cand_aggs`.
 */
function lockCandidatesSql(table: string, leases: string): string {
  return `if not exists (select 1 from ${leases} l where l.lease_until > claim_now) then
    with picked as materialized (${HEAD.pick(table)})
    select array_agg(p.seq order by p.seq), array_agg(p.aggregateid order by p.seq)
    into cand_seqs, cand_aggs
    from picked p
    where ${HEAD.admit(table)};
  end if;
  if cand_seqs is null then
    select array_agg(p.seq order by p.seq), array_agg(p.aggregateid order by p.seq)
    into cand_seqs, cand_aggs
    from (${exactPickSql(table, leases, 'o.seq, o.aggregateid')}) p;
  end if;
  if cand_seqs is null then
    return;
  end if;`;
}

/**
 * Lock mode: locks the candidates that are still due and not locked by another session (`FOR
 * UPDATE SKIP LOCKED`), and returns those that no skipped candidate precedes in their
 * aggregate. A row can be locked by someone else while due: a lease-mode relay whose lease
 * expired settling it late, or a user's own transaction; passing it would let a later record of
 * its aggregate go first, so its aggregate waits for the next claim. The lock re-reads each row
 * at its newest version, so what is returned is what was locked.
 */
function lockCandidatesReturnSql(table: string): string {
  return `with locked as materialized (
      select ${PICKED} from ${table} o
      where o.seq = any(cand_seqs) and o.status = 'pending' and o.available_at <= claim_now
      for update of o skip locked
    )
    select ${returned('k')}, null::text
    from locked k
    where not exists (
      select 1 from unnest(cand_seqs, cand_aggs) c(seq, aggregateid)
      where c.aggregateid = k.aggregateid and c.seq < k.seq
        and c.seq not in (select k2.seq from locked k2)
    )
    order by k.seq`;
}

/**
 * DDL of the two claim functions. Each runs its statements in order inside the caller's
 * transaction: being volatile PL/pgSQL, every statement takes a new snapshot, so the selection,
 * which runs after the advisory lock was granted, sees everything the previous holder committed,
 * and its plan is cached for the session. Both take the fast path when no lease is active, else
 * the exact selection. Leases only appear under the advisory lock, so "no lease is active", once
 * checked under it, stays true until the function's own lease.
 *
 * Both delete the expired lease rows first: that is the moment a lease is taken over, and a late
 * settlement of its records (fenced by the lease row's id, see `leaseTableSql`) is refused from
 * then on.
 *
 * Both run with `jit = off`: the exact selection's estimated cost (a probe per row) is above
 * `jit_above_cost`, and JIT compiles the statement again on every call of the cached plan, about
 * 8 ms (measured) for a statement that runs in about 1 ms.
 *
 * - lease: the claim advisory lock (waiting), `synchronous_commit = off` for the claim's own
 *   transaction, then selects the batch and inserts its lease row in one statement; the rows
 *   themselves are not written, nor locked: claims are serialised by the advisory lock, and the
 *   lease row is what later claims skip. Returns the batch.
 * - lock: `idle_in_transaction_session_timeout = leaseMs` for the caller's transaction, the
 *   claim lock if free (else no rows), then the selection, then the row locks (see
 *   `lockCandidatesReturnSql`), which the caller's transaction holds until its completion.
 */
export function claimFunctionsSql(t: TableName): string {
  const { lease, lock } = claimFunctions(t);
  const table = t.qualified;
  const leases = leaseObjects(t).table;
  const key = advisoryLockKey(table, 'claim');
  return `${claimFunctionHead(lease)}
begin
  perform set_config('synchronous_commit', 'off', true);
  perform pg_advisory_xact_lock(${key});
  claim_now := clock_timestamp();
  ${FENCE}
  delete from ${leases} l where l.lease_until <= claim_now;
  if not exists (select 1 from ${leases}) then
    return query ${leaseBatchSql(leases, HEAD.pick(table), HEAD.admit(table))};
    if found then
      return;
    end if;
  end if;
  return query ${leaseBatchSql(leases, exactPickSql(table, leases, PICKED))};
end
$claim$;
${claimFunctionHead(lock)}
  cand_seqs bigint[];
  cand_aggs text[];
begin
  perform set_config('idle_in_transaction_session_timeout', lease_ms::text, true);
  if not pg_try_advisory_xact_lock(${key}) then
    return;
  end if;
  claim_now := clock_timestamp();
  ${FENCE}
  delete from ${leases} l where l.lease_until <= claim_now;
  ${lockCandidatesSql(table, leases)}
  return query ${lockCandidatesReturnSql(table)};
end
$claim$;`;
}
