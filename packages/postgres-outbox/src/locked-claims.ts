// The opt-in `claimMode: 'lock'`: a claim is an open transaction holding the records' row locks
// on its own connection until complete() or fail() commits, so each record is written once (its
// completion) instead of twice (a lease, then the completion). One claim at a time per table: a
// transaction-scoped advisory lock, held for the whole claim-publish-complete cycle, is the
// leader lock that keeps per-aggregate order across relays.
import { randomUUID } from 'node:crypto';
import { ConfigurationError, UnavailableError } from '@eda/core';
import type { OutboxRecord } from '@eda/core/adapter';
import type { ClaimedRow } from './outbox-row.js';
import { OUTBOX_ADAPTER } from './outbox-schema.js';
import { type PooledSqlClient, queryLast, type SqlResult } from './sql-client.js';

/** A pooled connection that reports its own failures, like `pg.PoolClient`. */
export interface ListeningSqlClient extends PooledSqlClient {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  removeListener(event: 'error', listener: (error: unknown) => void): unknown;
}

/** A pool of such connections, like `pg.Pool`. */
export interface ListeningSqlPool {
  connect(): Promise<ListeningSqlClient>;
}

/** What the store gives the locked claims. */
export interface LockedClaimsOptions {
  readonly pool: ListeningSqlPool;
  /** `"schema"."table"`. */
  readonly table: string;
  /**
   * The statement that follows `BEGIN` in the claim's round trip (the lock-mode claim function):
   * it sets `idle_in_transaction_session_timeout` to `leaseMs` for the transaction, tries the
   * table's claim lock, and returns the batch it selected (locking it), or nothing when the lock
   * is taken.
   */
  readonly claimSql: (limit: number, leaseMs: number) => Promise<string>;
  /** The completion statement for a literal `bigint[]` of record ids. */
  readonly completeSql: (ids: string) => string;
  /** Turns claimed rows into records; `dead(seq, reason)` dead-letters an undecodable row. */
  readonly decode: (
    rows: ClaimedRow[],
    dead: (seq: string, reason: string) => Promise<void>,
  ) => Promise<OutboxRecord[]>;
  readonly deadSql: string;
  readonly failSql: string;
}

/** One held claim: the connection whose open transaction holds the row locks. */
interface Held {
  /** The claim's identity, carried by its records as `claimId`. */
  readonly id: string;
  readonly client: ListeningSqlClient;
  /** Claimed records not yet completed or failed; the transaction commits when this is empty. */
  readonly open: Set<string>;
  /** Set when the connection ended (idle timeout, server restart): its locks are gone. */
  lost?: unknown;
  released: boolean;
  readonly onError: (error: unknown) => void;
}

/** Record ids are the table's `bigint` seq as decimal text; inlined only after this check. */
function idArray(records: readonly OutboxRecord[]): string {
  for (const r of records) {
    if (!/^[0-9]{1,19}$/.test(r.recordId)) {
      throw new ConfigurationError(
        `${OUTBOX_ADAPTER}: record id ${JSON.stringify(r.recordId)} is not one of this store's records.`,
      );
    }
  }
  return `'{${records.map((r) => r.recordId).join(',')}}'::bigint[]`;
}

export interface LockedClaims {
  claim(limit: number, leaseMs: number): Promise<OutboxRecord[]>;
  complete(records: readonly OutboxRecord[]): Promise<void>;
  fail(records: readonly OutboxRecord[], values: (ids: string[]) => unknown[]): Promise<void>;
  close(): Promise<void>;
}

export function createLockedClaims(options: LockedClaimsOptions): LockedClaims {
  const { pool, table, claimSql, completeSql, decode, deadSql, failSql } = options;
  // `claiming` covers the claim statement itself, `held` the cycle after it.
  let claiming = false;
  let held: Held | undefined;

  /** Ends the held claim; a connection that failed (or is unsure) is destroyed, which rolls back. */
  const drop = (current: Held, error?: unknown) => {
    if (held === current) held = undefined;
    release(current, error);
  };

  /** Runs `sql` in the held transaction; any failure destroys the connection (rollback). */
  const run = async (current: Held, sql: string, values?: unknown[]): Promise<SqlResult> => {
    if (current.lost !== undefined) throw lostError(current.lost);
    try {
      return values === undefined
        ? await queryLast(current.client, sql)
        : await current.client.query(sql, values);
    } catch (error) {
      drop(current, error);
      throw current.lost === undefined ? error : lostError(current.lost);
    }
  };

  /** The held claim that owns every one of `records`. */
  const owner = (records: readonly OutboxRecord[]): Held => {
    const current = held;
    if (
      !current ||
      records.some((r) => r.claimId !== current.id || !current.open.has(r.recordId))
    ) {
      throw new UnavailableError(
        `${OUTBOX_ADAPTER}: these records are not held by an open claim of ${table} (its transaction ended, for example after leaseMs idle, or they were already completed); they will be claimed and published again.`,
      );
    }
    if (current.lost !== undefined) {
      drop(current);
      throw lostError(current.lost);
    }
    return current;
  };

  /** Settles `records` with `sql`, committing in the same round trip once nothing is open. */
  const settle = async (current: Held, records: readonly OutboxRecord[], sql: string) => {
    for (const r of records) current.open.delete(r.recordId);
    const last = current.open.size === 0;
    await run(current, last ? `${sql};\ncommit` : sql);
    if (last) drop(current);
  };

  return {
    async claim(limit, leaseMs) {
      // One claim per store at a time: the relay settles a batch before it claims the next.
      // A second caller gets nothing, as it would from another relay holding the leader lock.
      if (claiming) return [];
      if (held) {
        if (held.lost === undefined) return [];
        drop(held);
      }
      claiming = true;
      try {
        // Before the connection is checked out: a failure here leaves nothing to release.
        const sql = `begin;\n${await claimSql(limit, leaseMs)}`;
        const client = await pool.connect();
        const current: Held = {
          id: `lock:${randomUUID()}`,
          client,
          open: new Set(),
          released: false,
          onError: (error) => {
            // The server ended the session (idle timeout, shutdown): the locks are gone. The
            // claim stays `held` as lost, so that complete() and fail() can say what happened.
            current.lost ??= error;
            release(current, error);
          },
        };
        client.on('error', current.onError);
        held = current;
        const result = await run(current, sql);
        const rows = result.rows as unknown as ClaimedRow[];
        for (const row of rows) current.open.add(row.seq);
        const decoded = await decode(rows, async (seq, reason) => {
          current.open.delete(seq);
          await run(current, deadSql, [seq, reason]);
        });
        // A record of an earlier claim of the same rows (lost, then claimed again) is refused.
        const records = decoded.map((r) => ({ ...r, claimId: current.id }));
        if (records.length === 0) {
          // Nothing to hold (nothing claimable, another relay leads, or every row was dead).
          await run(current, 'commit');
          drop(current);
        }
        return records;
      } finally {
        claiming = false;
      }
    },

    async complete(records) {
      if (records.length === 0) return;
      const current = owner(records);
      await settle(current, records, completeSql(idArray(records)));
    },

    async fail(records, values) {
      if (records.length === 0) return;
      const current = owner(records);
      for (const r of records) current.open.delete(r.recordId);
      await run(current, failSql, values(records.map((r) => r.recordId)));
      if (current.open.size === 0) {
        await run(current, 'commit');
        drop(current);
      }
    },

    async close() {
      // An unsettled claim is rolled back: its records are claimable again at once.
      const current = held;
      if (!current) return;
      try {
        await run(current, 'rollback');
        drop(current);
      } catch {
        // run() already destroyed the connection, which rolls back.
      }
    },
  };
}

/** Gives the connection back to the pool once; after an error the pool discards it. */
function release(current: Held, error?: unknown) {
  if (current.released) return;
  current.released = true;
  current.client.removeListener('error', current.onError);
  // A connection dropped for an error may report more on its way down: nobody needs them.
  if (error !== undefined) current.client.on('error', () => undefined);
  current.client.release(error === undefined ? undefined : toError(error));
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function lostError(cause: unknown): UnavailableError {
  return new UnavailableError(
    `${OUTBOX_ADAPTER}: the claim's connection ended before its records were completed (idle longer than leaseMs, or the server closed it); the records will be claimed and published again.`,
    { cause },
  );
}
