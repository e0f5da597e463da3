// pg.Pool emits 'error' when an idle connection's backend ends (a server restart, a failover,
// pg_terminate_backend: 57P01), and a checked-out client that is idle emits it on itself. With no
// listener Node ends the process ("Unhandled 'error' event"). Every part of this package that is
// given a pool attaches one shared listener per pool here, so a relay set up as the README shows
// survives: the pool drops the broken connection and opens a new one on the next query.
import { UnavailableError } from '@eda/core';

/** Anything that emits pg's 'error' events (a `pg.Pool` or a pool client). */
interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

function isErrorEmitter(value: unknown): value is ErrorEmitter {
  return (
    typeof (value as ErrorEmitter | null)?.on === 'function' &&
    typeof (value as ErrorEmitter | null)?.removeListener === 'function'
  );
}

/** The handlers of each watched pool. A WeakMap, so a pool that is dropped is not kept alive. */
const watched = new WeakMap<object, Set<(error: unknown) => void>>();

function describe(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return `${typeof code === 'string' ? `${code} ` : ''}${String(message ?? error)}`;
}

function report(error: unknown, handlers: ReadonlySet<(error: unknown) => void>) {
  const wrapped = new UnavailableError(
    `postgres-outbox: a pooled PostgreSQL connection failed while idle (${describe(error)}); the pool discards it and opens a new one on the next query. Nothing was lost: a statement in flight fails on its own and is retried.`,
    { cause: error },
  );
  if (handlers.size === 0) {
    // Nobody asked to be told: say what happened rather than nothing (and never crash).
    console.warn(`${wrapped.message} Pass onError to handle this yourself.`);
    return;
  }
  for (const handler of handlers) {
    try {
      handler(wrapped);
    } catch {
      // A failing handler must not turn a handled pool error back into a crash.
    }
  }
}

/**
 * Makes sure `pool` has this package's one 'error' listener, and adds `onError` (if given) to
 * the handlers it forwards to; without any handler the listener warns on the console.
 * Returns a function that removes `onError` again (the listener itself stays: harmless, and
 * other parts may share the pool). Objects without `on` (not a pg.Pool) are left alone.
 */
export function watchPoolErrors(pool: unknown, onError?: (error: unknown) => void): () => void {
  if (!isErrorEmitter(pool)) return () => undefined;
  let handlers = watched.get(pool);
  if (!handlers) {
    const created = new Set<(error: unknown) => void>();
    handlers = created;
    watched.set(pool, created);
    pool.on('error', (error) => report(error, created));
  }
  if (!onError) return () => undefined;
  const own = handlers;
  // A wrapper per call, so two parts passing the same function are removed independently.
  const handler = (error: unknown) => onError(error);
  own.add(handler);
  return () => own.delete(handler);
}

/**
 * While a client is checked out its pool no longer listens to it, so a backend that ends while
 * the client waits (between the statements of a transaction) would crash the process. This
 * listens for that time; `onBroken` learns of it (the client must then be discarded).
 * Returns the function that stops listening (call it before `release`).
 */
export function watchClientErrors(
  client: unknown,
  pool: unknown,
  onBroken: (error: Error) => void,
): () => void {
  if (!isErrorEmitter(client)) return () => undefined;
  const listener = (error: Error) => {
    onBroken(error);
    report(error, (isErrorEmitter(pool) && watched.get(pool)) || new Set());
  };
  client.on('error', listener);
  return () => client.removeListener('error', listener);
}
