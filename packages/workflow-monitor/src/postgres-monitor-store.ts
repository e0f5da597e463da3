// The PostgreSQL monitor store: durable records and flow summaries, so a restarted monitor
// resumes where it stopped and does not announce a deadline twice. A batch is one transaction:
// records go in with ON CONFLICT DO NOTHING, then every touched flow row is locked (in
// correlation id order, so two monitors cannot deadlock) and derived from all its committed
// records, so concurrent monitors never lose an update.
import { UnavailableError } from '@eda/core';
import type { AuditRecord } from './audit-record.js';
import type { DeriveFlow, FlowSummary } from './flow-summary.js';
import { type MonitorTableOptions, monitorTables } from './monitor-schema.js';
import type { FlowChange, MonitorStore } from './monitor-store.js';
import type { PooledSqlClient, SqlPool } from './sql-client.js';

/** Options of `createPostgresMonitorStore`. */
export interface PostgresMonitorStoreOptions extends MonitorTableOptions {
  /** A pg.Pool (or alike); the store borrows one connection per call. */
  readonly pool: SqlPool;
}

/**
 * Creates a monitor store on PostgreSQL. Create the tables first with `ensureMonitorSchema`.
 * Each method rejects with an UnavailableError naming the operation, the database error as
 * its cause; nothing is half-written (each call is one transaction).
 * @throws ConfigurationError for an invalid schema or table prefix.
 */
export function createPostgresMonitorStore(options: PostgresMonitorStoreOptions): MonitorStore {
  const { pool } = options;
  const t = monitorTables(options);

  /** Runs `work` in a transaction on one pooled connection. */
  const inTransaction = async <T>(what: string, work: (c: PooledSqlClient) => Promise<T>) => {
    const client = await pool.connect().catch((error: unknown) => unavailable(what, error));
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      client.release();
      return result;
    } catch (error) {
      // A connection whose rollback fails is broken: release(error) discards it.
      const broken = await client.query('rollback').then(
        () => undefined,
        (rollbackError: unknown) => rollbackError as Error,
      );
      client.release(broken ?? false);
      return unavailable(what, error);
    }
  };

  /** Locks the flows (in order), reads their records, derives and writes their summaries. */
  const rederive = async (
    client: PooledSqlClient,
    correlationIds: readonly string[],
    derive: DeriveFlow,
  ): Promise<FlowChange[]> => {
    const locked = await client.query(
      `select correlation_id, summary from ${t.flows} where correlation_id = any($1::text[]) order by correlation_id collate "C" for update`,
      [correlationIds],
    );
    if (!locked.rows.length) return [];
    const ids = locked.rows.map((row) => row.correlation_id as string);
    const recordRows = await client.query(
      `select correlation_id, record from ${t.records} where correlation_id = any($1::text[]) order by correlation_id, at, record_id collate "C"`,
      [ids],
    );
    const timelines = new Map<string, AuditRecord[]>(ids.map((id) => [id, []]));
    for (const row of recordRows.rows)
      timelines.get(row.correlation_id as string)?.push(row.record as AuditRecord);
    const changes = locked.rows.map((row) => {
      const correlationId = row.correlation_id as string;
      const previous = (row.summary as FlowSummary | null) ?? undefined;
      const timeline = timelines.get(correlationId) ?? [];
      return { previous, next: derive({ correlationId, timeline, previous }) };
    });
    const next = changes.map((c) => c.next);
    await client.query(
      `update ${t.flows} f set workflow = u.workflow, state = u.state, last_at = u.last_at,
         ended_at = u.ended_at, due_at = u.due_at, summary = u.summary
       from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::jsonb[])
         as u(correlation_id, workflow, state, last_at, ended_at, due_at, summary)
       where f.correlation_id = u.correlation_id`,
      [
        next.map((s) => s.correlationId),
        next.map((s) => s.workflow ?? null),
        next.map((s) => s.state),
        next.map((s) => s.lastAt),
        next.map((s) => s.endedAt ?? null),
        next.map((s) => s.dueAt ?? null),
        next.map((s) => JSON.stringify(s)),
      ],
    );
    return changes;
  };

  return {
    capabilities: { persistent: true },

    ingest: (records, derive) =>
      inTransaction('ingest', async (client) => {
        // Sorted, so two monitors inserting the same ids wait for each other instead of deadlocking.
        const sorted = [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const inserted = await client.query(
          `insert into ${t.records} (record_id, correlation_id, at, record)
           select i, c, a, j from unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[]) with ordinality as r(i, c, a, j, n)
           order by n
           on conflict (record_id) do nothing
           returning correlation_id`,
          [
            sorted.map((r) => r.id),
            sorted.map((r) => r.correlationId),
            sorted.map((r) => r.at),
            sorted.map((r) => JSON.stringify(r)),
          ],
        );
        const touched = [
          ...new Set(inserted.rows.map((row) => row.correlation_id as string)),
        ].sort();
        if (!touched.length) return 0;
        // A placeholder row (no summary yet) for each new flow, so every flow can be locked.
        await client.query(
          `insert into ${t.flows} (correlation_id, state, last_at)
           select c, 'unmatched', 0 from unnest($1::text[]) with ordinality as f(c, n) order by n
           on conflict (correlation_id) do nothing`,
          [touched],
        );
        await rederive(client, touched, derive);
        return inserted.rows.length;
      }),

    update: (correlationIds, derive) =>
      inTransaction('update', (client) => rederive(client, correlationIds, derive)),

    async timeline(correlationId) {
      const result = await pool
        .query(
          `select record from ${t.records} where correlation_id = $1 order by at, record_id collate "C"`,
          [correlationId],
        )
        .catch((error: unknown) => unavailable('timeline', error));
      return result.rows.map((row) => row.record as AuditRecord);
    },

    async summary(correlationId) {
      const result = await pool
        .query(`select summary from ${t.flows} where correlation_id = $1 and summary is not null`, [
          correlationId,
        ])
        .catch((error: unknown) => unavailable('summary', error));
      return result.rows[0]?.summary as FlowSummary | undefined;
    },

    async flows({ state, workflow, limit = 100 } = {}) {
      const result = await pool
        .query(
          `select summary from ${t.flows}
           where summary is not null and ($1::text is null or state = $1) and ($2::text is null or workflow = $2)
           order by last_at desc, correlation_id collate "C" limit $3`,
          [state ?? null, workflow ?? null, limit],
        )
        .catch((error: unknown) => unavailable('flows', error));
      return result.rows.map((row) => row.summary as FlowSummary);
    },

    async due(now, limit) {
      const result = await pool
        .query(
          `select correlation_id from ${t.flows} where due_at <= $1 order by due_at, correlation_id limit $2`,
          [now, limit],
        )
        .catch((error: unknown) => unavailable('due', error));
      return result.rows.map((row) => row.correlation_id as string);
    },

    purge: ({ before, limit }) =>
      inTransaction('purge', async (client) => {
        // SKIP LOCKED: a flow being ingested right now is left for the next round.
        const deleted = await client.query(
          `delete from ${t.flows} where correlation_id in (
             select correlation_id from ${t.flows}
             where (state = 'completed' and ended_at < $1) or (state = 'unmatched' and last_at < $1)
             limit $2 for update skip locked)
           returning correlation_id`,
          [before, limit],
        );
        const ids = deleted.rows.map((row) => row.correlation_id as string);
        if (ids.length)
          await client.query(`delete from ${t.records} where correlation_id = any($1::text[])`, [
            ids,
          ]);
        return ids.length;
      }),
  };
}

function unavailable(what: string, error: unknown): never {
  throw new UnavailableError(
    `postgres monitor store: ${what} failed (${(error as Error)?.message ?? String(error)}); nothing of it was written, so the call can be repeated.`,
    { cause: error },
  );
}
