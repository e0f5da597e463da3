// The outbox store on PostgreSQL: writers insert rows inside their own transaction; relays claim
// batches in write order behind a commit-order fence, publish them, and complete them in one
// statement per batch.
import {
  ConfigurationError,
  DecodeError,
  type OutboxBacklog,
  type OutboxStore,
  UnavailableError,
} from '@eda/core';
import { describeError, type OutboxClaimOptions, type OutboxRecord } from '@eda/core/adapter';
import pg from 'pg';
import {
  type ChangeListener,
  createChangeListener,
  type ListenConnection,
} from './change-listener.js';
import { claimFunctionSignature, claimFunctions } from './claim-sql.js';
import { createFenceMonitor, type FenceLag } from './fence-monitor.js';
import { quoteIdentifier } from './identifiers.js';
import { leaseFunctionSignature, leaseObjects } from './lease-table.js';
import { createLockedClaims, type ListeningSqlPool, type LockedClaims } from './locked-claims.js';
import { type ClaimedRow, decodeRow, encodeMessage } from './outbox-row.js';
import { OUTBOX_ADAPTER, type OutboxTableOptions, outboxTable } from './outbox-schema.js';
import { watchPoolErrors } from './pool-errors.js';
import type { SqlClient, SqlTransaction } from './sql-client.js';
import { assertTransaction, isPgPool } from './transaction-client.js';

/** Options of `createPostgresOutboxStore`. */
export interface PostgresOutboxStoreOptions extends OutboxTableOptions {
  /**
   * Runs the relay's statements (claim, complete, fail, purge), each in its own implicit
   * transaction: usually a `pg.Pool`. The store never closes it.
   */
  readonly pool: SqlClient;
  /**
   * What completing a published record does: `mark` keeps the row as `published` until the
   * retention purge deletes it (an audit window); `delete` removes it at once.
   * @default 'mark'
   */
  readonly completion?: 'mark' | 'delete';
  /**
   * How a claim holds its records until `complete()` or `fail()`.
   *
   * - `lease` leases the claimed batch with one row in `<table>_leases` (the claimed seqs and
   *   their aggregates, valid for `leaseMs`) in a short transaction; the rows themselves are
   *   written once, by the completion, which also takes them out of the lease. Several relays
   *   claim and publish in parallel.
   * - `lock` (opt-in) keeps the claim's transaction open on a connection of its own, holding
   *   the rows' locks (`FOR UPDATE SKIP LOCKED`) until the completion commits in that same
   *   transaction: nothing is written at claim time, not even a lease row. `leaseMs` becomes
   *   the transaction's `idle_in_transaction_session_timeout`, so a hung relay's session is
   *   ended by the server and its records are claimable again. Trade-offs: one relay publishes
   *   at a time per table (a transaction-scoped advisory lock held for the whole
   *   claim-publish-complete cycle is the leader lock; a claim that cannot take it returns no
   *   records, so other relays are hot standbys); each in-flight batch holds a pool connection
   *   and keeps a transaction open while it publishes (which holds back vacuum for that time);
   *   `pool` must have `connect()` (a `pg.Pool`). Order and delivery guarantees are those of
   *   `lease`.
   * @default 'lease'
   */
  readonly claimMode?: 'lease' | 'lock';
  /**
   * How the relay is woken when writers commit. A function returns a new, unconnected
   * connection (such as `() => new pg.Client(config)`) that the store holds open for LISTEN and
   * closes in `close()`; `false` leaves the relay polling.
   * @default a `pg.Client` with the pool's settings when `pool` is a `pg.Pool`, otherwise `false`
   */
  readonly notifications?: false | (() => ListenConnection);
  /** NOTIFY channel name. @default '<table>_changes' */
  readonly channel?: string;
  /** Wait before re-opening a dropped LISTEN connection. @default 1000 */
  readonly reconnectDelayMs?: number;
  /**
   * Told about listener failures, rows that could not be decoded, and a fence held back too
   * long (`OutboxFenceHeldError`, code `EDA_OUTBOX_FENCE_HELD`). @default none
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Reports `OutboxFenceHeldError` to `onError` when committed records have waited behind the
   * commit-order fence this long (see `fenceLag()`); checked in the background after claims
   * that found less than they asked for, at most every `fenceWarnMs / 2` (at least 1 s apart),
   * warning at most once per `fenceWarnMs`. `false` never checks.
   * @default 30000
   */
  readonly fenceWarnMs?: number | false;
}

/** Row counts by status, for monitoring and tests. */
export interface OutboxCounts {
  readonly pending: number;
  readonly published: number;
  readonly dead: number;
}

/** An outbox store whose transaction handle is a pg client inside `BEGIN`. */
export interface PostgresOutboxStore extends OutboxStore<SqlTransaction> {
  /** `"schema"."table"` of the outbox. */
  readonly table: string;
  /**
   * Deletes published rows older than `olderThanMs` in batches of `batchSize` until none is
   * left; returns how many. Each batch is its own short statement, so locks stay short.
   */
  purgeAll(options: { readonly olderThanMs: number; readonly batchSize?: number }): Promise<number>;
  /** Rows by status. */
  counts(): Promise<OutboxCounts>;
  /** Pending rows and the age of the oldest (the relay's backlog gauges). */
  backlog(): Promise<OutboxBacklog>;
  /**
   * The commit-order fence: how long it has held records back, how many wait, and the
   * transaction holding it. The fence is server-wide (the oldest write transaction still running
   * in any database, or a prepared transaction): export this as a metric next to the relay's.
   */
  fenceLag(): Promise<FenceLag>;
  /** Closes the LISTEN connection the store opened (never the pool). */
  close(): Promise<void>;
}

/** PostgreSQL's largest timeout setting, in milliseconds. */
const MAX_TIMEOUT_MS = 2_147_483_647;

function isListeningPool(pool: unknown): pool is ListeningSqlPool {
  return typeof (pool as { connect?: unknown } | null)?.connect === 'function';
}

function positiveInteger(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigurationError(`${OUTBOX_ADAPTER}: ${what} is ${value}: use a positive integer.`);
  }
  return value;
}

function nonNegativeInteger(what: string, value: number): number {
  if (!Number.isSafeInteger(Math.floor(value)) || value < 0) {
    throw new ConfigurationError(`${OUTBOX_ADAPTER}: ${what} is ${value}: use a number >= 0.`);
  }
  return Math.floor(value);
}

/** Orders claimed rows by seq, write order, the order the claim picked them in. */
function byWriteOrder(a: ClaimedRow, b: ClaimedRow): number {
  const sa = BigInt(a.seq);
  const sb = BigInt(b.seq);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Records grouped by the claim (lease row id) that returned them, in order of appearance. */
function byClaim(records: readonly OutboxRecord[]): Map<string, OutboxRecord[]> {
  const groups = new Map<string, OutboxRecord[]>();
  for (const record of records) {
    const { claimId } = record;
    if (claimId === undefined || !/^[0-9]{1,19}$/.test(claimId)) {
      throw new ConfigurationError(
        `${OUTBOX_ADAPTER}: record ${JSON.stringify(record.recordId)} does not carry the claim id of a lease-mode claim of this store: settle the records claim() returned, unchanged.`,
      );
    }
    const group = groups.get(claimId);
    if (group) group.push(record);
    else groups.set(claimId, [record]);
  }
  return groups;
}

/**
 * Creates the PostgreSQL outbox store. Create the table first with `ensureOutboxSchema` (or run
 * `outboxSchemaSql` in your migrations).
 *
 * Guarantees: a message exists if and only if the writer's transaction commits; records of an
 * aggregate are claimed in write order (a writer that writes after seeing another's commit comes
 * after it, whichever transaction began first), behind a fence that admits a transaction's rows
 * only once every older transaction has ended, so a late commit is never skipped; several relays
 * may claim at once, each record leased to one of them, and a settlement from a claim whose
 * lease was taken over is refused (`UnavailableError`) without changing anything.
 *
 * @throws ConfigurationError for invalid names or options.
 */
export function createPostgresOutboxStore(
  options: PostgresOutboxStoreOptions,
): PostgresOutboxStore {
  const { pool, completion = 'mark', claimMode = 'lease', onError = () => undefined } = options;
  if (!pool || typeof pool.query !== 'function') {
    throw new ConfigurationError(
      `${OUTBOX_ADAPTER}: createPostgresOutboxStore needs a pool (a pg.Pool, or anything with pg's query method).`,
    );
  }
  if (completion !== 'mark' && completion !== 'delete') {
    throw new ConfigurationError(
      `${OUTBOX_ADAPTER}: completion is ${JSON.stringify(completion)}: use 'mark' or 'delete'.`,
    );
  }
  if (claimMode !== 'lease' && claimMode !== 'lock') {
    throw new ConfigurationError(
      `${OUTBOX_ADAPTER}: claimMode is ${JSON.stringify(claimMode)}: use 'lease' or 'lock'.`,
    );
  }
  if (claimMode === 'lock' && !isListeningPool(pool)) {
    throw new ConfigurationError(
      `${OUTBOX_ADAPTER}: claimMode 'lock' holds each claim on a connection of its own: pass a pg.Pool (with connect()) as pool.`,
    );
  }
  // The pool's idle connections fail when PostgreSQL ends them (reported to onError, else a
  // console warning): never a crash.
  const unwatchPool = watchPoolErrors(pool, options.onError);
  const t = outboxTable(options);
  const table = t.qualified;
  const channel = options.channel ?? `${t.table}_changes`;
  quoteIdentifier(OUTBOX_ADAPTER, 'channel', channel);
  const reconnectDelayMs = positiveInteger('reconnectDelayMs', options.reconnectDelayMs ?? 1000);
  const fenceWarnMs =
    options.fenceWarnMs === false
      ? false
      : positiveInteger('fenceWarnMs', options.fenceWarnMs ?? 30_000);
  const fence = createFenceMonitor({ pool, table, warnMs: fenceWarnMs, onError });

  let createConnection: (() => ListenConnection) | undefined;
  if (options.notifications === undefined) {
    if (isPgPool(pool)) {
      const config = pool.options;
      createConnection = () => new pg.Client(config);
    }
  } else if (options.notifications !== false) {
    if (typeof options.notifications !== 'function') {
      throw new ConfigurationError(
        `${OUTBOX_ADAPTER}: notifications must be false or a function returning a new pg.Client.`,
      );
    }
    createConnection = options.notifications;
  }
  const listener: ChangeListener | undefined = createConnection
    ? createChangeListener({
        adapter: OUTBOX_ADAPTER,
        channel,
        createConnection,
        reconnectDelayMs,
        onError,
      })
    : undefined;

  const insertSql = `with inserted as (
  insert into ${table} (id, aggregatetype, aggregateid, type, payload, headers, kind)
  select id, type, aggregateid, type, payload, headers, kind
  from unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[], $6::text[])
    as m(id, type, aggregateid, payload, headers, kind)
  returning 1
)
select pg_notify($7, '') as notified`;

  // Claims are serialised by an advisory lock held for the claim's own short transaction: a
  // claim then sees the leases every earlier claim wrote, so two relays never take records of
  // one aggregate at the same time. Publishing, the slow part, still runs in parallel.
  // A lease-mode claim leases its batch with one row in `<table>_leases` and commits without
  // waiting for its WAL flush: a lease lost in a database crash only makes the records claimable
  // again (a re-send, which at-least-once allows), never loses one.
  // Claims run the schema's claim functions (plans cached per session). A schema from an
  // earlier version lacks the lease table: its functions would lease rows the way that version
  // did, which relays of this version do not see, so claims refuse to run until the DDL of this
  // version is applied.
  const functions = claimFunctions(t);
  const leases = leaseObjects(t);
  let schemaReady: Promise<void> | undefined;
  const checkSchema = () => {
    schemaReady ??= pool
      .query(
        'select to_regprocedure($1) is not null and to_regprocedure($2) is not null and to_regclass($3) is not null and to_regprocedure($4) is not null as found',
        [
          claimFunctionSignature(claimMode === 'lock' ? functions.lock : functions.lease),
          leaseFunctionSignature(leases.release),
          leases.table,
          leaseFunctionSignature(leases.hold),
        ],
      )
      .then((result) => {
        if (result.rows[0]?.found !== true) {
          throw new ConfigurationError(
            `${OUTBOX_ADAPTER}: the outbox schema of ${table} is missing ${leases.table} or its claim functions (it was created by an earlier version, or a migration left them out): run ensureOutboxSchema, or apply outboxSchemaSql() in a migration, before relaying. Stop relays of earlier versions first: they lease records in a way this version does not see.`,
          );
        }
      })
      .catch((error: unknown) => {
        schemaReady = undefined;
        throw error;
      });
    return schemaReady;
  };

  /** The lease table or a function dropped after the check (42P01, 42883): check again. */
  const recheckSchemaIfMissing = async <T>(claiming: Promise<T>): Promise<T> => {
    try {
      return await claiming;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '42883' || code === '42P01') schemaReady = undefined;
      throw error;
    }
  };

  // After `BEGIN`, in lock mode: the lock function in the same round trip.
  const lockClaimSql = async (limit: number, leaseMs: number) => {
    await checkSchema();
    return `select * from ${functions.lock}(${limit}, ${leaseMs})`;
  };

  const completeWhere = (ids: string) =>
    completion === 'delete'
      ? `delete from ${table} where seq = any(${ids})`
      : `update ${table} set status = 'published', published_at = now()
         where seq = any(${ids}) and status = 'pending'`;

  // $3 (maxAttempts) is 0 for a deferred record: no attempt counted, never dead here.
  const failSql = `update ${table}
set attempts = attempts + case when $3::int > 0 then 1 else 0 end,
    last_error = $2,
    status = case when $3::int > 0 and attempts + 1 >= $3 then 'dead' else 'pending' end,
    available_at = now() + $4 * interval '1 millisecond'
where seq = any($1::bigint[]) and status = 'pending'`;

  const deadSql = `update ${table} set status = 'dead', last_error = $2
where seq = $1 and status = 'pending'`;

  /**
   * In lease mode, a fenced settlement in one statement: first the lease row `claim` is locked
   * and checked to still hold `seqs` (see `leaseTableSql`); only then `settle` (an update or
   * delete of the rows `$1`) runs, and then the release of `seqs` from the lease. The check is
   * an uncorrelated condition of the update, evaluated once before it touches a row; the release
   * runs once the rows' update has finished (it aggregates the update's output first), and all
   * commit together, so no claim ever sees one of these records out of its lease while the
   * record is still pending as it was. Returns `held`: false when the claim was taken over,
   * and then nothing changed. The release also makes this commit skip the WAL flush wait.
   */
  const releasing = (settle: string, seqs: string, claim: string) => `with held as materialized (
  select ${leases.hold}(${claim}::bigint, ${seqs}) as ok
),
settled as (${settle} and (select ok from held) returning 1)
select h.ok as held, case when h.ok then ${leases.release}(${claim}::bigint, ${seqs}) end
from held h, (select count(*) from settled) s`;
  const leaseCompleteSql = releasing(completeWhere('$1::bigint[]'), '$1::bigint[]', '$2');
  const leaseFailSql = releasing(failSql, '$1::bigint[]', '$5');
  const leaseDeadSql = releasing(deadSql, 'array[$1::bigint]', '$3');

  /** Runs a fenced lease-mode settlement per claim; refuses the records of taken-over claims. */
  const settleLeased = async (
    records: readonly OutboxRecord[],
    sql: string,
    values: (recordIds: string[]) => unknown[],
  ) => {
    const refused: string[] = [];
    for (const [claimId, group] of byClaim(records)) {
      const result = await pool.query(sql, [...values(ids(group)), claimId]);
      if (result.rows[0]?.held !== true) refused.push(...ids(group));
    }
    if (refused.length > 0) {
      throw new UnavailableError(
        `${OUTBOX_ADAPTER}: records ${refused.join(', ')} of ${table} are no longer held by the claim that returned them (its lease expired and another claim took them over); nothing was changed for them, the current holder publishes and settles them.`,
      );
    }
  };

  const purgeSql = `delete from ${table} where seq in (
  select seq from ${table}
  where status = 'published' and published_at <= now() - $1 * interval '1 millisecond'
  limit $2)`;

  const insert = async (transaction: SqlTransaction, values: unknown[]) => {
    try {
      await transaction.query(insertSql, values);
    } catch (error) {
      // 25P02: pg reports the failed transaction only after the query was sent.
      if ((error as { code?: unknown }).code === '25P02') {
        throw new ConfigurationError(
          `${OUTBOX_ADAPTER}: add() was given a client whose transaction already failed; roll it back and start again.`,
          { cause: error },
        );
      }
      throw error;
    }
  };

  const ids = (records: readonly OutboxRecord[]) => records.map((r) => r.recordId);

  /** Records of claimed rows, in claim order; a row no relay can read is dead-lettered at once. */
  const decodeRows = async (
    claimed: ClaimedRow[],
    dead: (seq: string, reason: string) => Promise<void>,
  ): Promise<OutboxRecord[]> => {
    const rows = claimed.sort(byWriteOrder);
    const records: OutboxRecord[] = [];
    for (const row of rows) {
      try {
        records.push(decodeRow(row));
      } catch (cause) {
        const reason = describeError(cause);
        const error = new DecodeError(
          `${OUTBOX_ADAPTER}: outbox row ${row.seq} of ${table} cannot be decoded and was marked dead: ${reason.message}`,
          { cause },
        );
        await dead(row.seq, `${reason.type}: ${reason.message}`.slice(0, 4000));
        onError(error);
      }
    }
    return records;
  };

  const locked: LockedClaims | undefined =
    claimMode === 'lock' && isListeningPool(pool)
      ? createLockedClaims({
          pool,
          table,
          // The same lock key as the lease claims': mixed relays still take turns.
          claimSql: lockClaimSql,
          completeSql: completeWhere,
          decode: decodeRows,
          deadSql,
          failSql,
        })
      : undefined;

  const purge = async ({ olderThanMs, limit }: { olderThanMs: number; limit: number }) => {
    const result = await pool.query(purgeSql, [
      nonNegativeInteger('purge olderThanMs', olderThanMs),
      positiveInteger('purge limit', limit),
    ]);
    return result.rowCount ?? 0;
  };

  return {
    capabilities: {
      concurrentRelays: true,
      orderedPerAggregate: true,
      notifications: listener !== undefined,
      persistent: true,
    },
    table,

    async add(transaction, messages) {
      assertTransaction(OUTBOX_ADAPTER, 'add()', transaction);
      if (messages.length === 0) return;
      const rows = messages.map(encodeMessage);
      await insert(transaction, [
        rows.map((r) => r.id),
        rows.map((r) => r.type),
        rows.map((r) => r.aggregateid),
        rows.map((r) => r.payload),
        rows.map((r) => r.headers),
        rows.map((r) => r.kind),
        channel,
      ]);
    },

    async claim({ limit, leaseMs }: OutboxClaimOptions) {
      const rowLimit = positiveInteger('claim limit', limit);
      const lease = positiveInteger('claim leaseMs', Math.ceil(leaseMs));
      // Notifications from here on mean work that this claim may not have seen.
      listener?.checkpoint();
      if (locked) {
        if (lease > MAX_TIMEOUT_MS) {
          throw new ConfigurationError(
            `${OUTBOX_ADAPTER}: claim leaseMs is ${lease}: with claimMode 'lock' use at most ${MAX_TIMEOUT_MS} (it becomes a PostgreSQL timeout).`,
          );
        }
        const records = await recheckSchemaIfMissing(locked.claim(rowLimit, lease));
        if (records.length < rowLimit) fence.poke();
        return records;
      }
      await checkSchema();
      const result = await recheckSchemaIfMissing(
        pool.query(`select * from ${functions.lease}($1, $2)`, [rowLimit, lease]),
      );
      const rows = result.rows as unknown as ClaimedRow[];
      // A claim that found less than it asked for may be held back by the fence.
      if (rows.length < rowLimit) fence.poke();
      return decodeRows(rows, async (seq, reason) => {
        // Fenced like any settlement: the claim that returned the row is the one just made.
        await pool.query(leaseDeadSql, [seq, reason, rows[0]?.claim_id]);
      });
    },

    async complete(records) {
      if (records.length === 0) return;
      if (locked) return locked.complete(records);
      await settleLeased(records, leaseCompleteSql, (recordIds) => [recordIds]);
    },

    async fail(records, { error, maxAttempts, retryAfterMs }, { deferred = false } = {}) {
      if (records.length === 0) return;
      const values = (recordIds: string[]) => [
        recordIds,
        error.slice(0, 4000),
        deferred ? 0 : positiveInteger('maxAttempts', maxAttempts),
        nonNegativeInteger('retryAfterMs', retryAfterMs),
      ];
      if (locked) return locked.fail(records, values);
      await settleLeased(records, leaseFailSql, values);
    },

    purge,

    async purgeAll({ olderThanMs, batchSize = 1000 }) {
      let total = 0;
      for (;;) {
        const purged = await purge({ olderThanMs, limit: batchSize });
        total += purged;
        if (purged < batchSize) return total;
      }
    },

    async counts() {
      const result = await pool.query(
        `select status, count(*)::int as n from ${table} group by status`,
      );
      const counts = { pending: 0, published: 0, dead: 0 };
      for (const row of result.rows) counts[row.status as keyof OutboxCounts] = row.n as number;
      return counts;
    },

    async backlog() {
      const result = await pool.query(
        `select count(*)::int as n, (extract(epoch from clock_timestamp() - min(created_at)) * 1000)::float8 as age
         from ${table} where status = 'pending'`,
      );
      const row = result.rows[0] as { n: number; age: number | null };
      return { records: row.n, oldestAgeMs: row.age ?? undefined };
    },

    fenceLag: () => fence.lag(),

    ...(listener ? { waitForChange: (signal: AbortSignal) => listener.wait(signal) } : {}),

    async close() {
      unwatchPool();
      await locked?.close();
      await listener?.close();
      await fence.close();
    },
  } satisfies PostgresOutboxStore;
}
