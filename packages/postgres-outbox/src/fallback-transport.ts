// The fallback durable store: publish straight to the broker, and when the broker refuses or
// does not answer in time, write the messages to the outbox so the relay delivers them later.
// The caller's publish then succeeds: the messages are durable in PostgreSQL.
import {
  ConfigurationError,
  EdaError,
  type OutboxStore,
  type OutgoingMessage,
  type Transport,
  UnavailableError,
} from '@eda/core';
import { createTimeLimit } from '@eda/core/adapter';
import { watchPoolErrors } from './pool-errors.js';
import type { SqlPool, SqlTransaction } from './sql-client.js';
import { withTransaction } from './with-transaction.js';

/** Options of `createFallbackTransport`. */
export interface FallbackTransportOptions {
  /** The broker transport to publish to first. The relay must use this one too, not the wrapper. */
  readonly transport: Transport;
  /** The outbox store that receives messages the broker did not accept. */
  readonly store: OutboxStore<SqlTransaction>;
  /** Pool for the fallback write, in its own transaction. */
  readonly pool: SqlPool;
  /**
   * A direct publish slower than this counts as failed and the messages go to the outbox. The
   * broker may still accept the late publish, so the relay can deliver a duplicate: consumers
   * dedupe by message id.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /** Told about every direct publish that failed and was written to the outbox. @default none */
  readonly onFallback?: (error: unknown, messages: readonly OutgoingMessage[]) => void;
  /**
   * Told when PostgreSQL ends an idle connection of `pool` (a restart, a failover,
   * `pg_terminate_backend`). A `pg.Pool` gets one shared 'error' listener from this package, so
   * this never ends the process. @default a console warning
   */
  readonly onError?: (error: unknown) => void;
}

/** Errors that a fallback cannot fix (bad options, a missing capability): raised as they are. */
function isProgrammingError(error: unknown): boolean {
  return EdaError.isInstance(error) && !error.retryable;
}

/**
 * Wraps a transport so that `publish` and `send` fall back to the outbox when the broker fails.
 * `subscribe` and `close` are the wrapped transport's.
 *
 * Guarantees: `publish`/`send` resolve only when every message was accepted by the broker or
 * committed to the outbox; a message may reach the broker twice (a late direct publish plus the
 * relay's), never zero times.
 *
 * Per-key order (`capabilities.orderedPerKey`, the wrapped transport's) holds for the messages
 * published through this one wrapper: a call waits for the earlier calls of its partition keys,
 * and once a key has a record waiting in the outbox, later messages of that key are written to
 * the outbox too (a call with several keys goes there whole), until no record of the key is
 * pending (checked with one query on the outbox table per call of such a key). It does not hold
 * across processes: a message of key K published directly by another process while K has a
 * record waiting in this process's fallback can arrive before that record. Publish a key from one
 * process, or publish with `{ transaction }` (always through the outbox), when that matters.
 * With a store other than this package's, a key that fell back stays routed to the outbox for
 * the life of the wrapper.
 * @throws the broker's error when it is not retryable (bad options, missing capability); an
 * UnavailableError carrying both causes when the broker and the outbox write both failed.
 */
export function createFallbackTransport(options: FallbackTransportOptions): Transport {
  const { transport, store, pool, onFallback = () => undefined } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!transport || !store || !pool) {
    throw new ConfigurationError(
      'postgres-outbox: createFallbackTransport needs transport, store and pool.',
    );
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigurationError(
      `postgres-outbox: fallback timeoutMs is ${timeoutMs}: use a positive number of milliseconds.`,
    );
  }

  watchPoolErrors(pool, options.onError);

  // One shared timer for every direct publish (core's), instead of a timer per publish. A late
  // answer is ignored: its failure, if any, is already reported through the fallback.
  const withTimeout = createTimeLimit(
    timeoutMs,
    (what) => new UnavailableError(`${what} did not complete within ${timeoutMs} ms.`),
  );

  // Per-key order in this process. A key whose message went to the outbox stays routed to the
  // outbox (behind that record, where the relay keeps the aggregate's order) until none of its
  // records is pending there any more; and a call waits for the earlier calls of its keys, so
  // a later message never overtakes one whose direct publish may still fall back.
  const table = (store as { table?: unknown }).table;
  const canCheckOutbox = typeof table === 'string';
  const keysInOutbox = new Set<string>();
  const tails = new Map<string, Promise<unknown>>();
  const pendingSql = `select distinct aggregateid from ${String(table)} where aggregateid = any($1::text[]) and status = 'pending'`;

  const keysOf = (messages: readonly OutgoingMessage[]) => [
    ...new Set(
      messages.flatMap((m) =>
        m.attributes.partitionkey === undefined ? [] : [m.attributes.partitionkey],
      ),
    ),
  ];

  /** Keys of `keys` that still have a record waiting in the outbox (forgets the others). */
  const stillInOutbox = async (keys: readonly string[]): Promise<boolean> => {
    const candidates = keys.filter((key) => keysInOutbox.has(key));
    if (candidates.length === 0) return false;
    if (!canCheckOutbox) return true;
    const result = await pool.query(pendingSql, [candidates]);
    const pending = new Set(result.rows.map((row) => String(row.aggregateid)));
    for (const key of candidates) if (!pending.has(key)) keysInOutbox.delete(key);
    return pending.size > 0;
  };

  const writeToOutbox = async (
    kind: 'publish' | 'send',
    messages: readonly OutgoingMessage[],
    error: unknown,
  ) => {
    try {
      await withTransaction(pool, (client) => store.add(client, messages));
    } catch (storeError) {
      throw new UnavailableError(
        `postgres-outbox: ${transport.name} ${kind} ${error === undefined ? 'was held back behind earlier messages of its keys in the outbox' : 'failed'} and the ${error === undefined ? '' : 'fallback '}write to the outbox failed too; nothing is durable, retry the publish.`,
        { cause: error === undefined ? storeError : new AggregateError([error, storeError]) },
      );
    }
    for (const key of keysOf(messages)) keysInOutbox.add(key);
  };

  const deliverNow = async (
    kind: 'publish' | 'send',
    messages: readonly OutgoingMessage[],
    keys: readonly string[],
  ): Promise<void> => {
    // Behind a record of the same key in the outbox: join it there, never overtake it. If the
    // check itself fails (the database is down) the outbox write would fail too: say so.
    let behind: boolean;
    try {
      behind = await stillInOutbox(keys);
    } catch (checkError) {
      throw new UnavailableError(
        `postgres-outbox: ${transport.name} ${kind} was not sent: earlier messages of its keys wait in the outbox and the outbox could not be read; retry the publish.`,
        { cause: checkError },
      );
    }
    if (behind) return writeToOutbox(kind, messages, undefined);
    try {
      await withTimeout(
        kind === 'publish' ? transport.publish(messages) : transport.send(messages),
        `${transport.name} ${kind}`,
      );
      return;
    } catch (error) {
      if (isProgrammingError(error)) throw error;
      await writeToOutbox(kind, messages, error);
      onFallback(error, messages);
    }
  };

  const deliver = async (
    kind: 'publish' | 'send',
    messages: readonly OutgoingMessage[],
  ): Promise<void> => {
    if (messages.length === 0) return;
    const keys = keysOf(messages);
    const earlier = keys.map((key) => tails.get(key));
    const done = Promise.allSettled(earlier).then(() => deliverNow(kind, messages, keys));
    for (const key of keys) tails.set(key, done);
    try {
      await done;
    } finally {
      for (const key of keys) if (tails.get(key) === done) tails.delete(key);
    }
  };

  return {
    name: `${transport.name}+postgres-fallback`,
    capabilities: transport.capabilities,
    // Spans name the broker's system and destinations: the fallback is a detour, not a system.
    ...(transport.destinationOf ? { destinationOf: transport.destinationOf.bind(transport) } : {}),
    publish: (messages) => deliver('publish', messages),
    send: (messages) => deliver('send', messages),
    subscribe: (subscribeOptions, handler) => transport.subscribe(subscribeOptions, handler),
    close: () => transport.close(),
  };
}
