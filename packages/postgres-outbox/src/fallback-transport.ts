// The fallback durable store: publish straight to the broker, and when the broker refuses or
// does not answer in time, write the messages to the outbox so the relay delivers them later.
// The caller's publish then succeeds: the messages are durable in PostgreSQL.
import {
  ConfigurationError,
  createTimeLimit,
  EdaError,
  type OutboxStore,
  type OutgoingMessage,
  type Transport,
  UnavailableError,
} from '@eda/core';
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

  const deliver = async (
    kind: 'publish' | 'send',
    messages: readonly OutgoingMessage[],
  ): Promise<void> => {
    if (messages.length === 0) return;
    try {
      await withTimeout(
        kind === 'publish' ? transport.publish(messages) : transport.send(messages),
        `${transport.name} ${kind}`,
      );
      return;
    } catch (error) {
      if (isProgrammingError(error)) throw error;
      try {
        await withTransaction(pool, (client) => store.add(client, messages));
      } catch (storeError) {
        throw new UnavailableError(
          `postgres-outbox: ${transport.name} ${kind} failed and the fallback write to the outbox failed too; nothing is durable, retry the publish.`,
          { cause: new AggregateError([error, storeError]) },
        );
      }
      onFallback(error, messages);
    }
  };

  return {
    name: `${transport.name}+postgres-fallback`,
    capabilities: transport.capabilities,
    publish: (messages) => deliver('publish', messages),
    send: (messages) => deliver('send', messages),
    subscribe: (subscribeOptions, handler) => transport.subscribe(subscribeOptions, handler),
    close: () => transport.close(),
  };
}
