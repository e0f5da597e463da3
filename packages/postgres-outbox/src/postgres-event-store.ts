// The event store on PostgreSQL. Appends run in the caller's transaction (the same-client rule
// of the outbox writer); the (stream, version) primary key lets exactly one of two concurrent
// appends at one version commit. The global order is the pair (tx_order, seq), read behind the
// commit-order fence `tx_order < pg_snapshot_xmin(pg_current_snapshot())`:
// - every transaction with an id below the snapshot's xmin has ended, and a row's `tx_order` is
//   at least its own transaction's id, so no row can ever appear below the fence after a reader
//   passed it: a reader that goes on from its last position never skips a late commit;
// - a sequence alone would not do: a transaction that took seq 10 and commits after another
//   took seq 11 and committed would be skipped by a reader that had read 11;
// - `tx_order` is raised to the previous version's when that is higher (a writer whose
//   transaction began before the previous version's writer), so a stream's versions keep their
//   order in the global order.
import {
  ConfigurationError,
  EncodeError,
  type EventStore,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  StreamVersionConflictError,
  type TransactionalReadOptions,
} from '@eda/core';
import { assertStreamName, prepareAppend } from '@eda/core/adapter';
import {
  appendFunction,
  EVENT_STORE_ADAPTER,
  type EventStoreTableOptions,
  eventStoreTable,
} from './event-store-schema.js';
import { watchPoolErrors } from './pool-errors.js';
import type { SqlClient, SqlPool, SqlTransaction } from './sql-client.js';
import { assertTransaction } from './transaction-client.js';
import { rethrowUnavailable } from './unavailable.js';
import { withTransaction } from './with-transaction.js';

/** Options of `createPostgresEventStore`. */
export interface PostgresEventStoreOptions extends EventStoreTableOptions {
  /** Runs reads and opens `transaction()`s: a `pg.Pool`. The store never closes it. */
  readonly pool: SqlPool;
  /** Told about pooled connections that failed while idle. @default a console warning */
  readonly onError?: (error: unknown) => void;
}

/** An event store whose transaction handle is a pg client inside `BEGIN`. */
export interface PostgresEventStore extends EventStore<SqlTransaction> {
  /** `"schema"."table"` of the events. */
  readonly table: string;
  /** Stops reporting the pool's idle-connection errors to `onError` (never ends the pool). */
  close(): Promise<void>;
}

const POSITION = /^(\d{1,20}):(\d{1,19})$/;

function parsePosition(after: string | undefined): [string, string] {
  if (after === undefined) return ['0', '0'];
  const match = typeof after === 'string' ? POSITION.exec(after) : null;
  if (!match) {
    throw new ConfigurationError(
      `${EVENT_STORE_ADAPTER}: position ${JSON.stringify(after)} is not one of this store's positions ("<transaction>:<seq>"): pass the position of an event it returned.`,
    );
  }
  return [match[1]!, match[2]!];
}

function limitOf(limit: number | undefined, what: string): number | null {
  if (limit === undefined) return null;
  if (!Number.isSafeInteger(limit) || limit <= 0) {
    throw new ConfigurationError(
      `${EVENT_STORE_ADAPTER}: ${what} limit is ${limit}: use a positive integer.`,
    );
  }
  return limit;
}

interface EventRow {
  stream: string;
  version: number;
  type: string;
  schema_version: number;
  data: unknown;
  recorded_text: string;
  tx_text: string;
  seq_text: string;
}

function recorded(row: EventRow): RecordedEvent {
  return {
    stream: row.stream,
    version: row.version,
    position: `${row.tx_text}:${row.seq_text}`,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    recordedAt: row.recorded_text,
  };
}

/**
 * Creates the PostgreSQL event store. Create the table first with `ensureEventStoreSchema` (or
 * run `eventStoreSchemaSql` in your migrations), in the database of your outbox when you use
 * `createEventCommitter`.
 *
 * Guarantees: appended events exist if and only if the caller's transaction commits; of
 * concurrent appends to a stream at one version exactly one commits, the others fail with
 * `StreamVersionConflictError`; `readAll` returns events in one global order with no gap from
 * late commits, each stream in version order.
 * @throws ConfigurationError for invalid names or a missing pool.
 */
export function createPostgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  const { pool } = options;
  if (!pool || typeof pool.query !== 'function' || typeof pool.connect !== 'function') {
    throw new ConfigurationError(
      `${EVENT_STORE_ADAPTER}: createPostgresEventStore needs a pool with connect(), such as a pg.Pool.`,
    );
  }
  const unwatchPool = watchPoolErrors(pool, options.onError);
  const t = eventStoreTable(options);
  const table = t.qualified;
  const guard = `${t.table}_stream_version`;
  // Positions are read as text (xid8 and bigint exceed JS numbers), under other names: ORDER BY
  // would otherwise sort by these text outputs ('10' before '9') instead of the columns.
  // recorded_at is formatted by the server: parsing it into a Date to print it again was most
  // of the client's work per row.
  const columns = `e.stream, e.version, e.type, e.schema_version, e.data,
  to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_text,
  e.tx_order::text as tx_text, e.seq::text as seq_text`;

  // One call per append: the table's append function, whose insert plan the server caches per
  // session (planning the insert on every call cost more than running it).
  const appendSql = `select ${appendFunction(t)}($1, $2, $3, $4, $5) as inserted`;
  const readStreamSql = `select ${columns} from ${table} e
where e.stream = $1 and e.version >= $2 order by e.version limit $3`;
  const readAllSql = `select ${columns} from ${table} e
where (e.tx_order, e.seq) > ($1::xid8, $2::bigint)
  and e.tx_order < pg_snapshot_xmin(pg_current_snapshot())
order by e.tx_order, e.seq limit $3`;
  const versionSql = `select coalesce(max(version), 0)::int as version from ${table} where stream = $1`;

  const streamVersion = async (client: SqlClient, stream: string) => {
    const result = await client.query(versionSql, [stream]);
    return result.rows[0]?.version as number;
  };

  /**
   * The client a read runs on: the caller's transaction when given (its own appends visible, no
   * second connection taken while it holds one), else the pool.
   */
  const readerOf = (what: string, transaction: SqlTransaction | undefined): SqlClient => {
    if (transaction === undefined) return pool;
    assertTransaction(EVENT_STORE_ADAPTER, what, transaction);
    return transaction;
  };

  const read = async (what: string, sql: string, values: unknown[], client: SqlClient = pool) => {
    try {
      return (await client.query(sql, values)).rows as unknown as EventRow[];
    } catch (error) {
      rethrowUnavailable(EVENT_STORE_ADAPTER, what, error);
    }
  };

  return {
    capabilities: { persistent: true },
    table,

    async append(transaction, stream, expectedVersion, events) {
      assertTransaction(EVENT_STORE_ADAPTER, 'append()', transaction);
      const prepared = await prepareAppend(EVENT_STORE_ADAPTER, stream, expectedVersion, events);
      const data = JSON.stringify(prepared.map((event) => event.data ?? null));
      // PostgreSQL's jsonb cannot hold NUL; refused here, the caller's transaction stays usable.
      if (data.includes('\\u0000')) {
        throw new EncodeError(
          `${EVENT_STORE_ADAPTER}: data of an event for stream "${stream}" contains a NUL character, which PostgreSQL cannot store in jsonb.`,
        );
      }
      let inserted: number;
      try {
        const result = await transaction.query(appendSql, [
          stream,
          expectedVersion,
          prepared.map((event) => event.type),
          prepared.map((event) => event.schemaVersion),
          data,
        ]);
        inserted = Number(result.rows[0]?.inserted ?? 0);
      } catch (error) {
        const { code, constraint } = error as { code?: unknown; constraint?: unknown };
        if (code === '23505' && constraint === guard) {
          // The transaction is aborted; the winner has committed, so the pool reads its version.
          const actual = await streamVersion(pool, stream).catch(() => undefined);
          throw new StreamVersionConflictError(stream, expectedVersion, actual, { cause: error });
        }
        if (code === '42883') {
          throw new ConfigurationError(
            `${EVENT_STORE_ADAPTER}: the function ${appendFunction(t)} is missing (the schema was created by hand or a migration left it out): run ensureEventStoreSchema, or apply eventStoreSchemaSql() in a migration.`,
            { cause: error },
          );
        }
        throw error;
      }
      if (inserted !== prepared.length) {
        throw new StreamVersionConflictError(
          stream,
          expectedVersion,
          await streamVersion(transaction, stream),
        );
      }
      return { version: expectedVersion + prepared.length };
    },

    async readStream(
      stream,
      { fromVersion = 1, limit, transaction }: ReadStreamOptions<SqlTransaction> = {},
    ) {
      assertStreamName(EVENT_STORE_ADAPTER, stream);
      const client = readerOf('readStream()', transaction);
      const rows = await read(
        'readStream',
        readStreamSql,
        [stream, fromVersion, limitOf(limit, 'readStream')],
        client,
      );
      return rows.map(recorded);
    },

    async readAll({ after, limit }: ReadAllOptions) {
      const [tx, seq] = parsePosition(after);
      const rows = await read('readAll', readAllSql, [tx, seq, limitOf(limit, 'readAll')]);
      return rows.map(recorded);
    },

    async streamVersion(stream, { transaction }: TransactionalReadOptions<SqlTransaction> = {}) {
      assertStreamName(EVENT_STORE_ADAPTER, stream);
      const client = readerOf('streamVersion()', transaction);
      try {
        return await streamVersion(client, stream);
      } catch (error) {
        rethrowUnavailable(EVENT_STORE_ADAPTER, 'streamVersion', error);
      }
    },

    transaction: (fn) => withTransaction(pool, fn),

    async close() {
      unwatchPool();
    },
  } satisfies PostgresEventStore;
}
