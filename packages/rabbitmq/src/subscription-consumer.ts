// One subscription's consumers: a channel with a prefetch limit consuming its work queues,
// at most `concurrency` handlers at once, and each delivery settled as its disposition says.
// After a channel or connection loss it re-declares its topology and consumes again; deliveries
// still being handled then are not acked (the broker redelivers them).
import { ClosedError, type ConfigurationError, UnavailableError } from '@eda/core';
import {
  type Delivery,
  type DeliveryHandler,
  type Disposition,
  deadLetterHeaders,
  describeError,
  type MessagingServer,
} from '@eda/core/adapter';
import type { Channel, ConsumeMessage } from 'amqplib';
import { type BackoffOptions, backoffAfterLoss } from './backoff.js';
import type { ConfirmPublisher, PublishRequest } from './confirm-publisher.js';
import type { ConnectionKeeper } from './connection-keeper.js';
import { ATTEMPT_HEADER, copyOptions, RETRY_REASON_HEADER, toDelivery } from './message-mapping.js';
import { RABBITMQ_SYSTEM, rabbitTelemetry } from './telemetry.js';

export interface SubscriptionConsumerOptions {
  /** The subscription (consumer group or command owner) name. */
  readonly name: string;
  readonly queues: readonly string[];
  readonly deadLetterQueue: string;
  /** Declares this subscription's topology on a fresh channel; runs after every reconnect. */
  readonly declare: (channel: Channel) => Promise<void>;
  /** Turns a broker refusal of the declaration (PRECONDITION_FAILED) into a clear error. */
  readonly explainPrecondition: (error: Error) => ConfigurationError;
  readonly prefetch: number;
  readonly concurrency: number;
  readonly handler: DeliveryHandler;
  readonly keeper: ConnectionKeeper;
  readonly publisher: ConfirmPublisher;
  /**
   * Where a retry after `delayMs` is published (a delay bucket's exchange, declared): the bucket
   * at or above the delay, or with `down` (deferred retries) the one at or below it.
   */
  readonly retryTarget: (
    queue: string,
    delayMs: number,
    round?: 'up' | 'down',
  ) => Promise<{ exchange: string; routingKey: string }>;
  /** Told when publishing to a retry target failed, so that it is declared again next time. */
  readonly retryTargetFailed: (exchange: string) => void;
  readonly thrownErrorRetryDelayMs: number;
  readonly startTimeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
  readonly onError: (error: unknown) => void;
  /** The broker named in spans, when known. */
  readonly server?: MessagingServer | undefined;
}

interface Received {
  readonly channel: Channel;
  readonly queue: string;
  readonly message: ConsumeMessage;
}

function isPreconditionFailed(error: unknown): error is Error {
  return (error as { code?: unknown } | undefined)?.code === 406;
}

export class SubscriptionConsumer {
  private channel: Channel | undefined;
  private consumerTags: string[] = [];
  private readonly buffered: Received[] = [];
  /** Handlers in progress, with the channel their delivery came on. */
  private readonly running = new Map<Promise<void>, Channel>();
  private stopping = false;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SubscriptionConsumerOptions) {}

  /**
   * Declares the topology and starts consuming.
   * @throws ConfigurationError when RabbitMQ refuses the declaration (another owner, another
   * queue type); UnavailableError when no connection came within the start timeout.
   */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.loop = this.run(resolve, reject);
    });
  }

  /** Stops consuming, waits for handlers in progress to be settled, then closes the channel. */
  async close(): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    const channel = this.channel;
    if (channel) {
      for (const tag of this.consumerTags) await channel.cancel(tag).catch(() => undefined);
    }
    // Received but not started: give them back now rather than hold them until the channel closes.
    for (const item of this.buffered.splice(0)) this.requeue(item);
    // Only deliveries of the live channel can still be settled; those of a lost channel are
    // back in the queue already, so close does not wait for their handlers.
    await Promise.all([...this.running].filter(([, on]) => on === channel).map(([task]) => task));
    this.stop.abort();
    if (channel) await channel.close().catch(() => undefined);
    await this.loop;
  }

  private async run(started: () => void, failed: (error: unknown) => void): Promise<void> {
    const { keeper, queues, prefetch, onError } = this.options;
    const startDeadline = AbortSignal.any([
      this.stop.signal,
      AbortSignal.timeout(this.options.startTimeoutMs),
    ]);
    let first = true;
    let attempt = 0;
    while (!this.stopping) {
      let connection: Awaited<ReturnType<ConnectionKeeper['ready']>>;
      try {
        connection = await keeper.ready(first ? startDeadline : this.stop.signal);
      } catch (error) {
        if (first) failed(error);
        return;
      }
      const openedAt = Date.now();
      let channel: Channel | undefined;
      try {
        channel = await connection.createChannel();
        const current = channel;
        const closed = new Promise<void>((resolve) => current.once('close', resolve));
        current.on('error', () => undefined); // 'close' follows; the loop handles it
        await this.options.declare(current);
        await current.prefetch(prefetch);
        if (this.stopping) {
          // close() ran while this channel was being set up, so it could not close it: do it
          // here, or the loop would wait on it forever.
          await current.close().catch(() => undefined);
          if (first) failed(new ClosedError('RabbitMQ transport'));
          return;
        }
        // Set before consuming: deliveries can arrive before `consume` resolves.
        this.channel = current;
        const tags: string[] = [];
        for (const queue of queues) {
          const reply = await current.consume(queue, (message) =>
            this.receive(current, queue, message),
          );
          tags.push(reply.consumerTag);
        }
        this.consumerTags = tags;
        if (first) {
          first = false;
          started();
        }
        await closed;
      } catch (error) {
        await channel?.close().catch(() => undefined);
        if (first && isPreconditionFailed(error)) {
          this.stopping = true;
          failed(this.options.explainPrecondition(error));
          return;
        }
        if (first && startDeadline.aborted) {
          failed(
            new UnavailableError(
              `RabbitMQ transport: subscription "${this.options.name}" could not start in time: ${(error as Error).message}`,
              { cause: error },
            ),
          );
          return;
        }
        onError(
          isPreconditionFailed(error)
            ? this.options.explainPrecondition(error)
            : new UnavailableError(
                `RabbitMQ transport: subscription "${this.options.name}" lost its channel (${(error as Error).message}); resuming.`,
                { cause: error },
              ),
        );
      }
      if (this.channel === channel) this.channel = undefined;
      // The broker requeues the unacked messages of a closed channel; local copies are stale.
      this.buffered.length = 0;
      if (this.stopping) return;
      attempt = await backoffAfterLoss(this.options.backoff, openedAt, attempt, this.stop.signal);
    }
  }

  private receive(channel: Channel, queue: string, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (its queue was deleted): re-declare and consume again.
      this.options.onError(
        new UnavailableError(
          `RabbitMQ transport: RabbitMQ cancelled the consumer of queue "${queue}" (deleted?); subscription "${this.options.name}" re-declares it.`,
        ),
      );
      channel.close().catch(() => undefined);
      return;
    }
    const item: Received = { channel, queue, message };
    if (this.stopping) {
      this.requeue(item);
      return;
    }
    this.buffered.push(item);
    this.pump();
  }

  private pump(): void {
    while (this.running.size < this.options.concurrency && this.buffered.length) {
      const item = this.buffered.shift()!;
      if (item.channel !== this.channel) continue;
      const task: Promise<void> = this.handle(item).finally(() => {
        this.running.delete(task);
        this.pump();
      });
      this.running.set(task, item.channel);
    }
  }

  private async handle(item: Received): Promise<void> {
    const delivery = toDelivery(item.message, item.queue, this.options.server);
    let disposition: Disposition;
    try {
      disposition = await this.options.handler(delivery);
      if (!disposition || typeof disposition !== 'object' || !('type' in disposition))
        throw new TypeError(
          `the delivery handler returned ${String(disposition)}, not a disposition`,
        );
    } catch (error) {
      // A thrown handler is a failure to retry, never a success.
      const { type, message } = describeError(error);
      disposition = {
        type: 'retry',
        delayMs: this.options.thrownErrorRetryDelayMs,
        reason: `${type}: ${message}`,
      };
    }
    await this.settle(item, delivery, disposition);
  }

  private async settle(
    item: Received,
    delivery: Delivery,
    disposition: Disposition,
  ): Promise<void> {
    const { channel, message, queue } = item;
    if (disposition.type === 'ack') {
      await this.traced('ack', item, delivery, () => this.ack(channel, message));
      return;
    }
    let request: PublishRequest | undefined;
    try {
      if (disposition.type === 'retry') {
        const { deferred = false } = disposition;
        const target = await this.options.retryTarget(
          queue,
          disposition.delayMs,
          deferred ? 'down' : 'up',
        );
        request = {
          ...target,
          content: message.content,
          options: copyOptions(message, {
            // A deferred retry (waiting for another consumer's claim) keeps its attempt: the
            // copy counts one delivery fewer, so its redelivery has the same attempt again.
            [ATTEMPT_HEADER]: deferred ? delivery.attempt - 1 : delivery.attempt,
            [RETRY_REASON_HEADER]: disposition.reason.slice(0, 1000),
          }),
        };
      } else {
        request = {
          exchange: '',
          routingKey: this.options.deadLetterQueue,
          content: message.content,
          options: copyOptions(message, {
            [ATTEMPT_HEADER]: delivery.attempt,
            ...deadLetterHeaders(disposition.reason, delivery.origin),
          }),
        };
      }
      // The copy must be stored before the original is acked: a crash in between duplicates it,
      // it never loses it.
      const copy = request;
      await this.traced(
        disposition.type === 'retry' ? 'retry' : 'dead_letter',
        item,
        delivery,
        () => this.options.publisher.publish(copy),
      );
    } catch (error) {
      if (disposition.type === 'retry' && request) this.options.retryTargetFailed(request.exchange);
      this.options.onError(
        new UnavailableError(
          `RabbitMQ transport: could not ${disposition.type === 'retry' ? 'schedule the retry of' : 'dead-letter'} message ${message.properties.messageId ?? '(no id)'} from "${queue}" (${(error as Error).message}); it is requeued and delivered again.`,
          { cause: error },
        ),
      );
      await this.traced('nack', item, delivery, () => this.requeue(item));
      return;
    }
    this.ack(channel, message);
  }

  /** Runs a settlement in its settle span (`ack`, `nack`, `retry`, `dead_letter`). */
  private traced<T>(
    operationName: string,
    item: Received,
    delivery: Delivery,
    settle: () => T | Promise<T>,
  ): Promise<T> {
    return rabbitTelemetry.settle(
      {
        system: RABBITMQ_SYSTEM,
        operationName,
        destination: item.queue,
        server: this.options.server,
        attributes: {
          'messaging.rabbitmq.message.delivery_tag': item.message.fields.deliveryTag,
        },
      },
      delivery,
      settle,
    );
  }

  private ack(channel: Channel, message: ConsumeMessage): void {
    try {
      channel.ack(message);
    } catch {
      // The channel closed: the broker redelivers the message, so nothing is lost.
    }
  }

  private requeue(item: Received): void {
    try {
      item.channel.nack(item.message, false, true);
    } catch {
      // The channel closed: the broker requeues the message by itself.
    }
  }
}
