// Keeps one AMQP connection open: connects on first use, reconnects with backoff and jitter
// after a loss, and hands the current connection to whoever waits for it.
import { ClosedError, UnavailableError } from '@eda/core';
import { abortableSleep } from '@eda/core/adapter';
import type { ChannelModel } from 'amqplib';
import { type BackoffOptions, backoffAfterLoss, backoffDelay } from './backoff.js';
import type { ConnectionPurpose } from './options.js';

interface Waiter {
  resolve(connection: ChannelModel): void;
  reject(error: unknown): void;
}

export class ConnectionKeeper {
  private current: ChannelModel | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private closed = false;
  /** Why the last connection attempt failed or the last connection closed. */
  lastError: unknown;

  constructor(
    private readonly purpose: ConnectionPurpose,
    private readonly open: (purpose: ConnectionPurpose) => Promise<ChannelModel>,
    private readonly backoff: Required<BackoffOptions>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Resolves with an open connection, waiting through reconnects.
   * @throws UnavailableError when `signal` aborts first; ClosedError after `close`.
   */
  ready(signal?: AbortSignal): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(new ClosedError('RabbitMQ transport'));
    this.loop ??= this.run();
    if (this.current) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (connection) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(connection);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(
          new UnavailableError(
            `RabbitMQ transport: no ${this.purpose} connection to RabbitMQ in time${this.lastError ? ` (last error: ${(this.lastError as Error).message})` : ''}. Check that the broker runs and the url is right.`,
            { cause: this.lastError },
          ),
        );
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** The open connection, if there is one right now. */
  get connection(): ChannelModel | undefined {
    return this.current;
  }

  /** Stops reconnecting and closes the current connection. Waiters get ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    for (const waiter of this.waiters) waiter.reject(new ClosedError('RabbitMQ transport'));
    this.waiters.clear();
    const connection = this.current;
    this.current = undefined;
    if (connection) await connection.close().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      let connection: ChannelModel;
      try {
        connection = await this.open(this.purpose);
      } catch (error) {
        this.lastError = error;
        this.onError(
          new UnavailableError(
            `RabbitMQ transport: ${this.purpose} connection failed (${(error as Error).message}); retrying.`,
            { cause: error },
          ),
        );
        await abortableSleep(backoffDelay(this.backoff, attempt++), this.stop.signal);
        continue;
      }
      if (this.closed) {
        await connection.close().catch(() => undefined);
        return;
      }
      const openedAt = Date.now();
      const lost = new Promise<void>((resolve) => {
        connection.once('close', (error?: Error) => {
          if (error) this.lastError = error;
          resolve();
        });
      });
      // 'error' is always followed by 'close'; without a listener it would crash the process.
      connection.on('error', (error: Error) => {
        this.lastError = error;
      });
      this.current = connection;
      for (const waiter of this.waiters) waiter.resolve(connection);
      this.waiters.clear();
      await lost;
      this.current = undefined;
      if (this.closed) return;
      this.onError(
        new UnavailableError(
          `RabbitMQ transport: ${this.purpose} connection lost (${(this.lastError as Error | undefined)?.message ?? 'closed'}); reconnecting.`,
          { cause: this.lastError },
        ),
      );
      attempt = await backoffAfterLoss(this.backoff, openedAt, attempt, this.stop.signal);
    }
  }
}
