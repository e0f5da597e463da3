// The transactional inbox: a consumer middleware that opens a transaction, records the message as
// handled, runs the handler with that transaction available, and commits both together. A
// duplicate finds the row and is skipped; a failed handler rolls the row back, so the retry runs.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigurationError, type ConsumeMiddleware } from '@eda/core';
import { INBOX_ADAPTER, type InboxTableOptions, inboxTable } from './inbox-schema.js';
import { watchPoolErrors } from './pool-errors.js';
import type { PooledSqlClient, SqlPool } from './sql-client.js';
import { withTransaction } from './with-transaction.js';

/** Options of `createPostgresInbox`. */
export interface PostgresInboxOptions extends InboxTableOptions {
  /** Where handler transactions run. The inbox never closes it. */
  readonly pool: SqlPool;
  /**
   * Consumer name in the dedupe key: messages are deduped per consumer.
   * @default the subscription name (consumer group) of the delivery
   */
  readonly consumer?: string;
  /**
   * Told when PostgreSQL ends an idle connection of `pool` (a restart, a failover,
   * `pg_terminate_backend`). A `pg.Pool` gets one shared 'error' listener from this package, so
   * this never ends the process. @default a console warning
   */
  readonly onError?: (error: unknown) => void;
}

/** A transactional inbox. */
export interface PostgresInbox {
  /**
   * The consumer middleware, for the bus's `middleware` option. Per delivery it checks out a
   * client, runs BEGIN, inserts the `(consumer, source, id)` row and runs the handler inside
   * that transaction; COMMIT after success, ROLLBACK after failure (so the retry is processed).
   * A message whose row exists is skipped with outcome `duplicate`. A concurrent delivery of the
   * same message waits for the first one's transaction and then is skipped or runs.
   * Handlers with `dedupe: 'none'` run in a transaction without an inbox row.
   */
  readonly middleware: ConsumeMiddleware;
  /** `"schema"."table"` of the inbox. */
  readonly table: string;
  /** Deletes up to `limit` rows handled more than `olderThanMs` ago; returns how many. */
  purge(options: { readonly olderThanMs: number; readonly limit: number }): Promise<number>;
  /**
   * Purges in bounded batches every `everyMs` until `stop()`; failures go to `onError`.
   * Keep `olderThanMs` longer than any redelivery or outbox re-send can arrive.
   */
  startRetention(options: {
    readonly olderThanMs: number;
    readonly everyMs: number;
    readonly batchSize?: number;
    readonly onError?: (error: unknown) => void;
  }): { stop(): Promise<void> };
}

const storage = new AsyncLocalStorage<PooledSqlClient>();

/**
 * The transaction of the message being handled through the inbox middleware, or undefined
 * outside one. Use it for the handler's own writes and for `bus.publish(..., { transaction })`,
 * so they commit with the inbox row.
 */
export function currentInboxTransaction(): PooledSqlClient | undefined {
  return storage.getStore();
}

/**
 * Like `currentInboxTransaction` but throws outside an inbox-handled message.
 * @throws ConfigurationError when called outside a handler run by the inbox middleware.
 */
export function inboxTransaction(): PooledSqlClient {
  const client = storage.getStore();
  if (!client) {
    throw new ConfigurationError(
      `${INBOX_ADAPTER}: inboxTransaction() was called outside a handler run by the inbox middleware: add inbox.middleware to the bus's middleware option.`,
    );
  }
  return client;
}

/**
 * Creates a transactional inbox. Create its table first with `ensureInboxSchema`.
 *
 * Guarantees: the handler's writes through the inbox transaction happen once per
 * `(consumer, source, id)` while the row is retained; a failed handler leaves no row.
 * Messages the handler publishes without `{ transaction }` are sent before the COMMIT, so a
 * failed COMMIT re-runs the handler and sends them again (at least once).
 * @throws ConfigurationError for an invalid table name or a missing pool.
 */
export function createPostgresInbox(options: PostgresInboxOptions): PostgresInbox {
  const { pool, consumer } = options;
  if (!pool || typeof pool.connect !== 'function') {
    throw new ConfigurationError(
      `${INBOX_ADAPTER}: createPostgresInbox needs a pool with connect(), such as a pg.Pool.`,
    );
  }
  if (consumer !== undefined && (typeof consumer !== 'string' || consumer === '')) {
    throw new ConfigurationError(
      `${INBOX_ADAPTER}: consumer must be a non-empty string, or left out to use the subscription name.`,
    );
  }
  watchPoolErrors(pool, options.onError);
  const table = inboxTable(options).qualified;
  const insertSql = `insert into ${table} (consumer, message_source, message_id, message_type)
values ($1, $2, $3, $4) on conflict do nothing`;
  const purgeSql = `delete from ${table} where ctid in (
  select ctid from ${table} where handled_at <= now() - $1 * interval '1 millisecond' limit $2)`;

  const middleware: ConsumeMiddleware = async (context, next) => {
    const envelope = context.envelope;
    if (!envelope) throw new ConfigurationError(`${INBOX_ADAPTER}: middleware ran before decode.`);
    // The dedupe row, the handler's writes and its outbox rows commit together or not at all.
    // A duplicate commits an empty transaction (the insert changed nothing), as good as a rollback.
    await withTransaction(pool, async (client) => {
      if (context.registration?.dedupe !== 'none') {
        const inserted = await client.query(insertSql, [
          consumer ?? context.subscription,
          envelope.source,
          envelope.id,
          envelope.type,
        ]);
        if (inserted.rowCount === 0) {
          context.outcome = 'duplicate';
          return;
        }
      }
      await storage.run(client, next);
    });
  };

  const purge = async ({ olderThanMs, limit }: { olderThanMs: number; limit: number }) => {
    if (
      !Number.isFinite(olderThanMs) ||
      olderThanMs < 0 ||
      !Number.isSafeInteger(limit) ||
      limit <= 0
    ) {
      throw new ConfigurationError(
        `${INBOX_ADAPTER}: purge needs olderThanMs >= 0 and a positive integer limit (got ${olderThanMs}, ${limit}).`,
      );
    }
    const result = await pool.query(purgeSql, [Math.floor(olderThanMs), limit]);
    return result.rowCount ?? 0;
  };

  return {
    middleware,
    table,
    purge,
    startRetention({ olderThanMs, everyMs, batchSize = 1000, onError = () => undefined }) {
      if (!Number.isFinite(everyMs) || everyMs <= 0) {
        throw new ConfigurationError(
          `${INBOX_ADAPTER}: everyMs is ${everyMs}: use a positive number.`,
        );
      }
      let running: Promise<void> | undefined;
      const tick = () => {
        if (running) return;
        running = (async () => {
          while ((await purge({ olderThanMs, limit: batchSize })) === batchSize) {
            // Bounded batches keep each delete's locks and WAL small.
          }
        })()
          .catch(onError)
          .finally(() => {
            running = undefined;
          });
      };
      const timer = setInterval(tick, everyMs);
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
          await running;
        },
      };
    },
  };
}
