// Publishing with broker confirms: a window of outstanding confirms on one confirm channel,
// `mandatory` returns turned into errors, a deadline per publish, and publishes whose confirm
// never came (channel or connection lost) sent again on the next channel until their deadline.
import { ClosedError, EncodeError, UnavailableError } from '@eda/core';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { type BackoffOptions, backoffAfterLoss } from './backoff.js';
import type { ConnectionKeeper } from './connection-keeper.js';
import { UnroutableMessageError } from './errors.js';

/** One message to publish. */
export interface PublishRequest {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
}

interface Pending {
  readonly request: PublishRequest;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
  settled: boolean;
  /** Counts sends, so a late callback of an earlier send is ignored. */
  sends: number;
  /** The broker's reply text when it returned the message as unroutable. */
  returned: string | undefined;
}

export interface ConfirmPublisherOptions {
  readonly window: number;
  readonly timeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
  /** Runs on each new channel before anything is published on it (declarations). */
  readonly prepare: (channel: ConfirmChannel) => Promise<void>;
  readonly onError: (error: unknown) => void;
}

export class ConfirmPublisher {
  private channel: ConfirmChannel | undefined;
  /** Waiting to be sent, from `head` on (an index rather than shift(): a burst can be long). */
  private queue: Pending[] = [];
  private head = 0;
  /** Sent on a channel that closed before confirming; they go out first on the next one. */
  private readonly resend: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  private readonly byMessageId = new Map<string, Set<Pending>>();
  private unsettled = 0;
  private idle: (() => void) | undefined;
  private awaitingDrain = false;
  private loop: Promise<void> | undefined;
  private closing = false;
  private readonly stop = new AbortController();
  private lastError: unknown;

  constructor(
    private readonly keeper: ConnectionKeeper,
    private readonly options: ConfirmPublisherOptions,
  ) {}

  /**
   * Publishes one message and resolves when the broker confirmed it.
   * @throws UnroutableMessageError when a `mandatory` message was returned; UnavailableError on a
   * nack or when no confirm came before the deadline (then it may or may not be stored);
   * ClosedError after `close`; EncodeError when amqplib cannot encode the message.
   */
  publish(request: PublishRequest): Promise<void> {
    if (this.closing) return Promise.reject(new ClosedError('RabbitMQ transport'));
    this.loop ??= this.run();
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = {
        request,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(pending), this.options.timeoutMs),
        settled: false,
        sends: 0,
        returned: undefined,
      };
      this.unsettled += 1;
      this.queue.push(pending);
      this.pump();
    });
  }

  /** Refuses new publishes, waits until every accepted one is settled, then closes the channel. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.unsettled > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.stop.abort();
    const channel = this.channel;
    this.channel = undefined;
    if (channel) await channel.close().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stop.signal.aborted) {
      let connection: Awaited<ReturnType<ConnectionKeeper['ready']>>;
      try {
        connection = await this.keeper.ready(this.stop.signal);
      } catch {
        return; // closed
      }
      const openedAt = Date.now();
      let channel: ConfirmChannel | undefined;
      try {
        channel = await connection.createConfirmChannel();
        const current = channel;
        const closed = new Promise<void>((resolve) => current.once('close', resolve));
        current.on('error', (error: Error) => {
          this.lastError = error;
        });
        current.on('return', (message: Message) => this.returned(message));
        await this.options.prepare(current);
        if (this.stop.signal.aborted) {
          // close() ran while this channel was being set up, so it could not close it: do it
          // here, or the loop would wait on it forever.
          await current.close().catch(() => undefined);
          return;
        }
        this.channel = current;
        this.awaitingDrain = false;
        this.pump();
        await closed;
      } catch (error) {
        this.lastError = error;
        this.options.onError(
          new UnavailableError(
            `RabbitMQ transport: publishing channel failed (${(error as Error).message}); retrying.`,
            { cause: error },
          ),
        );
        await channel?.close().catch(() => undefined);
      }
      if (this.channel === channel) this.channel = undefined;
      attempt = await backoffAfterLoss(this.options.backoff, openedAt, attempt, this.stop.signal);
    }
  }

  private pump(): void {
    if (this.resend.length) {
      this.queue = [...this.resend.splice(0), ...this.queue.slice(this.head)];
      this.head = 0;
    }
    const channel = this.channel;
    if (!channel || this.awaitingDrain) return;
    while (this.inFlight.size < this.options.window && this.head < this.queue.length) {
      const pending = this.queue[this.head++]!;
      if (pending.settled) continue;
      if (!this.send(channel, pending)) break;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Sends on the channel; false when pumping has to pause. */
  private send(channel: ConfirmChannel, pending: Pending): boolean {
    const { exchange, routingKey, content, options } = pending.request;
    const send = ++pending.sends;
    pending.returned = undefined;
    this.inFlight.add(pending);
    this.index(pending, true);
    let writable: boolean;
    try {
      writable = channel.publish(exchange, routingKey, content, options, (error) =>
        this.confirmed(channel, pending, send, error),
      );
    } catch (error) {
      this.inFlight.delete(pending);
      this.index(pending, false);
      if ((error as Error).name === 'IllegalOperationError') {
        // The channel closed under us: the message goes out again on the next one.
        if (this.channel === channel) this.channel = undefined;
        this.resend.unshift(pending);
        return false;
      }
      this.finish(
        pending,
        new EncodeError(
          `RabbitMQ transport: message ${options.messageId ?? ''} cannot be published: ${(error as Error).message}`,
          { cause: error },
        ),
      );
      return true;
    }
    if (!writable) {
      // The socket buffer is full: wait for it to drain rather than buffer without bound.
      this.awaitingDrain = true;
      channel.once('drain', () => {
        if (this.channel !== channel) return;
        this.awaitingDrain = false;
        this.pump();
      });
      return false;
    }
    return true;
  }

  private confirmed(
    channel: ConfirmChannel,
    pending: Pending,
    send: number,
    error: Error | null | undefined,
  ): void {
    if (pending.sends !== send || !this.inFlight.delete(pending)) return;
    this.index(pending, false);
    const { exchange, routingKey, options } = pending.request;
    if (!error) {
      if (pending.returned === undefined) this.finish(pending);
      else this.finish(pending, new UnroutableMessageError(exchange, routingKey, pending.returned));
    } else if (error.message === 'message nacked') {
      this.finish(
        pending,
        new UnavailableError(
          `RabbitMQ transport: the broker refused (nack) message ${options.messageId ?? ''} to "${routingKey}"; it was not stored. Publish it again later.`,
        ),
      );
    } else {
      // The channel closed before the confirm: unknown whether it was stored, so send it again
      // (a duplicate is possible, a loss is not).
      this.lastError = error;
      if (this.channel === channel) this.channel = undefined;
      if (!pending.settled) this.resend.push(pending);
    }
    this.pump();
  }

  private returned(message: Message): void {
    const candidates = this.byMessageId.get(message.properties.messageId ?? '');
    if (!candidates) return;
    for (const pending of candidates) {
      if (
        pending.request.exchange === message.fields.exchange &&
        pending.request.routingKey === message.fields.routingKey
      )
        pending.returned = `${(message.fields as { replyText?: string }).replyText ?? 'NO_ROUTE'}`;
    }
  }

  private index(pending: Pending, add: boolean): void {
    const id = pending.request.options.messageId ?? '';
    let set = this.byMessageId.get(id);
    if (add) {
      if (!set) {
        set = new Set();
        this.byMessageId.set(id, set);
      }
      set.add(pending);
    } else if (set) {
      set.delete(pending);
      if (!set.size) this.byMessageId.delete(id);
    }
  }

  private expire(pending: Pending): void {
    if (pending.settled) return;
    const { routingKey, options } = pending.request;
    const last = this.lastError ?? this.keeper.lastError;
    this.finish(
      pending,
      new UnavailableError(
        `RabbitMQ transport: no confirm for message ${options.messageId ?? ''} to "${routingKey}" within ${this.options.timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}; it may or may not have been stored. Publish it again (consumers dedupe by id).`,
        { cause: last },
      ),
    );
  }

  private finish(pending: Pending, error?: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    if (error === undefined) pending.resolve();
    else pending.reject(error);
    this.unsettled -= 1;
    if (this.unsettled === 0 && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }
}
