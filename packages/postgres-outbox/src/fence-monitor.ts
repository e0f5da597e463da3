// Watches the commit-order fence. The fence is the oldest transaction still running on the whole
// server (any database, and prepared transactions too): one long write transaction anywhere, or
// a forgotten PREPARE TRANSACTION, holds back every record committed after it began. This
// measures how long that has been so, and warns past a threshold.
import { EdaError } from '@eda/core';
import { OUTBOX_ADAPTER } from './outbox-schema.js';
import type { SqlClient } from './sql-client.js';

/** What holds the fence: a session's transaction or a prepared transaction. */
export type FenceHolder =
  | {
      readonly kind: 'session';
      readonly pid: number;
      readonly database: string | null;
      readonly applicationName: string | null;
      readonly startedAt: Date;
    }
  | {
      readonly kind: 'prepared';
      readonly gid: string;
      readonly database: string | null;
      readonly preparedAt: Date;
    };

/** The state of the fence, as `fenceLag()` reports it. */
export interface FenceLag {
  /**
   * How long the fence has stood where it is, in milliseconds: the age of the transaction that
   * holds it when the server shows it to this role (`pg_stat_activity` shows other roles'
   * transactions only to members of `pg_read_all_stats`), otherwise how long this store has
   * seen it stand still while records wait (0 when it cannot see the holder and nothing
   * waits).
   */
  readonly ageMs: number;
  /** Committed pending records the fence holds back (counted up to 100,000). */
  readonly waiting: number;
  /** The transaction holding the fence, when the server shows it. */
  readonly holder?: FenceHolder;
}

/** The fence was held back longer than `fenceWarnMs` while records wait behind it. */
export class OutboxFenceHeldError extends EdaError {
  readonly ageMs: number;
  readonly waiting: number;
  readonly holder: FenceHolder | undefined;

  constructor(table: string, lag: FenceLag) {
    super(
      'EDA_OUTBOX_FENCE_HELD',
      `${OUTBOX_ADAPTER}: ${lag.waiting} committed record(s) of ${table} wait behind the commit-order fence, held for ${Math.round(lag.ageMs / 1000)} s by ${describeHolder(lag.holder)}. The fence is server-wide: a long write transaction in any database, or a prepared transaction never committed, stops every relay. End or commit it (pg_terminate_backend, COMMIT/ROLLBACK PREPARED), or set idle_in_transaction_session_timeout and transaction_timeout.`,
      { retryable: true },
    );
    this.ageMs = lag.ageMs;
    this.waiting = lag.waiting;
    this.holder = lag.holder;
  }
}

function describeHolder(holder: FenceHolder | undefined): string {
  if (!holder) {
    return 'a transaction this role cannot see (grant pg_read_all_stats to name it; look in pg_stat_activity for the oldest backend_xid, and in pg_prepared_xacts)';
  }
  if (holder.kind === 'prepared') {
    return `the prepared transaction '${holder.gid}' (database ${holder.database ?? 'unknown'}, prepared at ${holder.preparedAt.toISOString()})`;
  }
  return `the transaction of backend ${holder.pid} (database ${holder.database ?? 'unknown'}, application '${holder.applicationName ?? ''}', started at ${holder.startedAt.toISOString()})`;
}

/** The fence, the records above it, and who holds it, in one statement. */
function fenceSql(table: string): string {
  // backend_xid and pg_prepared_xacts.transaction are 32-bit xids: compare the fence modulo 2^32.
  return `with f as (
  select pg_snapshot_xmin(pg_current_snapshot()) as fence
), x as (
  select f.fence, (f.fence::text::numeric % 4294967296)::text as xid32 from f
)
select x.fence::text as fence,
  (select count(*)::int from (
     select 1 from ${table} o where o.status = 'pending' and o.txid >= x.fence limit 100000
   ) w) as waiting,
  (select row_to_json(a) from (
     select s.pid, s.datname as database, s.application_name, s.xact_start,
       extract(epoch from clock_timestamp() - s.xact_start) * 1000 as age_ms
     from pg_stat_activity s where s.backend_xid::text = x.xid32 and s.xact_start is not null
     limit 1
   ) a) as session,
  (select row_to_json(p) from (
     select t.gid, t.database, t.prepared,
       extract(epoch from clock_timestamp() - t.prepared) * 1000 as age_ms
     from pg_prepared_xacts t where t.transaction::text = x.xid32
     limit 1
   ) p) as prepared
from x`;
}

interface SessionRow {
  pid: number;
  database: string | null;
  application_name: string | null;
  xact_start: string;
  age_ms: number;
}

interface PreparedRow {
  gid: string;
  database: string | null;
  prepared: string;
  age_ms: number;
}

/** Options of `createFenceMonitor`. */
export interface FenceMonitorOptions {
  readonly pool: SqlClient;
  /** `"schema"."table"`. */
  readonly table: string;
  /** Warn past this age; `false` never warns. */
  readonly warnMs: number | false;
  readonly onError: (error: unknown) => void;
  readonly now?: () => number;
}

export interface FenceMonitor {
  /** Reads the fence's state. */
  lag(): Promise<FenceLag>;
  /**
   * Called after a claim that found less than it asked for (a relay that may be held back):
   * reads the fence at most every `warnMs / 2` (at least 1 s apart) in the background, and
   * reports `OutboxFenceHeldError` to `onError` past `warnMs`, at most once per `warnMs`.
   */
  poke(): void;
  /** Waits for a background read still running. */
  close(): Promise<void>;
}

export function createFenceMonitor(options: FenceMonitorOptions): FenceMonitor {
  const { pool, table, warnMs, onError, now = Date.now } = options;
  const sql = fenceSql(table);
  // Where this store saw the fence stand while records waited, for roles that cannot see it.
  let seen: { fence: string; since: number } | undefined;
  let lastCheck = Number.NEGATIVE_INFINITY;
  let lastWarning = Number.NEGATIVE_INFINITY;
  let checking: Promise<void> | undefined;

  const lag = async (): Promise<FenceLag> => {
    const result = await pool.query(sql);
    const row = result.rows[0] as
      | { fence: string; waiting: number; session: SessionRow | null; prepared: PreparedRow | null }
      | undefined;
    if (!row) return { ageMs: 0, waiting: 0 };
    const { session, prepared, waiting } = row;
    const holder: FenceHolder | undefined = session
      ? {
          kind: 'session',
          pid: session.pid,
          database: session.database,
          applicationName: session.application_name,
          startedAt: new Date(session.xact_start),
        }
      : prepared
        ? {
            kind: 'prepared',
            gid: prepared.gid,
            database: prepared.database,
            preparedAt: new Date(prepared.prepared),
          }
        : undefined;
    if (waiting === 0) {
      seen = undefined;
    } else if (seen?.fence !== row.fence) {
      seen = { fence: row.fence, since: now() };
    }
    const serverAge = session?.age_ms ?? prepared?.age_ms;
    const ageMs =
      serverAge !== undefined
        ? Math.max(0, Math.round(serverAge))
        : seen
          ? Math.max(0, now() - seen.since)
          : 0;
    return { ageMs, waiting, ...(holder ? { holder } : {}) };
  };

  const check = async () => {
    const current = await lag();
    if (warnMs === false || current.waiting === 0 || current.ageMs < warnMs) return;
    if (now() - lastWarning < warnMs) return;
    lastWarning = now();
    onError(new OutboxFenceHeldError(table, current));
  };

  return {
    lag,
    poke() {
      if (warnMs === false || checking) return;
      if (now() - lastCheck < Math.max(1000, warnMs / 2)) return;
      lastCheck = now();
      checking = check()
        .catch(onError)
        .finally(() => {
          checking = undefined;
        });
    },
    async close() {
      await checking;
    },
  };
}
