// LISTEN on a dedicated connection, so the relay wakes as soon as a writer commits. The
// connection is re-opened after it drops; while it is down the relay falls back to polling, and
// after a reconnect the relay is woken once because notifications may have been missed.
import { quoteIdentifier } from './identifiers.js';

/** A connection that can LISTEN, like a `pg.Client` (not a pooled one: it is held open). */
export interface ListenConnection {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  end(): Promise<void>;
}

export interface ChangeListenerOptions {
  readonly adapter: string;
  readonly channel: string;
  /** Creates a new, not yet connected connection. */
  readonly createConnection: () => ListenConnection;
  /** Wait this long before trying to reconnect after a failure. */
  readonly reconnectDelayMs: number;
  readonly onError: (error: unknown) => void;
}

export interface ChangeListener {
  /** Remembers that the caller is about to look for work: notifications from now on count. */
  checkpoint(): void;
  /** Resolves on a notification since the last checkpoint, or when `signal` aborts. Never rejects. */
  wait(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export function createChangeListener(options: ChangeListenerOptions): ChangeListener {
  const { adapter, channel, createConnection, reconnectDelayMs, onError } = options;
  const listenSql = `listen ${quoteIdentifier(adapter, 'notification channel', channel)}`;
  let changes = 0;
  let seen = 0;
  let connection: ListenConnection | undefined;
  let connecting: Promise<void> | undefined;
  let nextAttemptAt = 0;
  let closed = false;
  const waiters = new Set<() => void>();

  const wakeAll = () => {
    changes += 1;
    for (const wake of [...waiters]) wake();
  };

  const drop = (current: ListenConnection) => {
    if (connection !== current) return;
    connection = undefined;
    nextAttemptAt = Date.now() + reconnectDelayMs;
    current.end().catch(() => undefined);
  };

  const connect = async () => {
    const current = createConnection();
    current.on('notification', (message) => {
      if (message.channel === channel) wakeAll();
    });
    current.on('error', (error) => {
      onError(error);
      drop(current);
    });
    current.on('end', () => drop(current));
    try {
      await current.connect();
      await current.query(listenSql);
    } catch (error) {
      nextAttemptAt = Date.now() + reconnectDelayMs;
      current.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await current.end().catch(() => undefined);
      return;
    }
    connection = current;
    // Notifications sent before this connection listened are lost (at start-up and after a
    // reconnect): wake waiters once so they look for work.
    wakeAll();
  };

  const ensureConnected = () => {
    if (closed || connection || connecting || Date.now() < nextAttemptAt) return;
    connecting = connect()
      .catch(onError)
      .finally(() => {
        connecting = undefined;
      });
  };

  return {
    checkpoint() {
      seen = changes;
      ensureConnected();
    },
    wait(signal) {
      ensureConnected();
      return new Promise<void>((resolve) => {
        if (signal.aborted || changes > seen || closed) return resolve();
        const done = () => {
          waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    },
    async close() {
      closed = true;
      for (const wake of [...waiters]) wake();
      await connecting;
      const current = connection;
      connection = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
