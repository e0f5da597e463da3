// The dead-letter admin of the RabbitMQ transport. A subscription's dead letters are the
// messages of its dead-letter queue, which nothing consumes (the transport only publishes to
// it): the admin browses it by getting messages without acknowledging them and giving back
// those it leaves, and redrives a dead letter by publishing a copy to the subscription's own
// queue, then acknowledging the dead letter.
import {
  ClosedError,
  ConfigurationError,
  type DeadLetter,
  type DeadLetterAdmin,
  REDRIVE_HEADERS,
  type RedriveSelection,
  UnavailableError,
} from '@eda/core';
import { selectForRedrive } from '@eda/core/adapter';
import type { Channel } from 'amqplib';
import { ConfirmPublisher } from './confirm-publisher.js';
import { ConnectionKeeper } from './connection-keeper.js';
import {
  type BrowsedDeadLetter,
  browsedDeadLetter,
  type DeadLetterNames,
  redriveOptions,
} from './dead-letter-message.js';
import { type RabbitMqTransportOptions, resolveOptions } from './options.js';
import { connectWithUrl } from './rabbitmq-transport.js';

/**
 * Options of `createRabbitMqDeadLetterAdmin`: where to connect and how the transport names its
 * queues. Pass the transport's own options object; the options about consuming are not read.
 */
export type RabbitMqDeadLetterAdminOptions = Pick<
  RabbitMqTransportOptions,
  | 'url'
  | 'socketOptions'
  | 'connect'
  | 'connectionName'
  | 'exchange'
  | 'queueFor'
  | 'subscriptionQueueFor'
  | 'deadLetterQueueFor'
  | 'publishWindow'
  | 'publishTimeoutMs'
  | 'reconnect'
  | 'onError'
>;

const ADMIN = 'RabbitMQ dead-letter admin';

/** Visits one browsed dead letter (false: stop); `ack` removes it, confirmed when the channel closes. */
type Visitor = (browsed: BrowsedDeadLetter, ack: () => void) => Promise<boolean>;

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 404;
}

function assertSubscription(method: string, subscription: unknown): void {
  if (typeof subscription !== 'string' || !subscription)
    throw new ConfigurationError(
      `${ADMIN}: ${method}() needs the subscription name (the consumer group or command owner whose dead letters to read), not ${JSON.stringify(subscription)}.`,
    );
}

/**
 * Creates the dead-letter admin of the RabbitMQ transport. Nothing connects until the first call.
 *
 * - `list`/`get` read the subscription's dead-letter queue (`deadLetterQueueFor`) from its head:
 *   each message is taken unacknowledged and given back when the call ends, so for that moment
 *   no other reader of the queue sees it. The admin runs its calls one at a time.
 * - A handle is a digest of the dead letter's message id, headers and body: stable across calls,
 *   different for each time a message was dead-lettered (`x-eda-failed-at` differs).
 * - `redrive` publishes a copy (same message id, properties and body; see `redriveHeaders`) to
 *   the queue the dead letter was consumed from, which is the subscription's own (an event's
 *   subscription queue, never the exchange; a command's owning queue), waits for RabbitMQ's
 *   confirm, and only then acknowledges the dead letter. A failure in between leaves the dead
 *   letter listed, so a second redrive sends the same id again: at least once, and consumers
 *   dedupe by id.
 * - A subscription without a dead-letter queue has no dead letters.
 *
 * @throws ConfigurationError for impossible options.
 */
export function createRabbitMqDeadLetterAdmin(
  options: RabbitMqDeadLetterAdminOptions,
): DeadLetterAdmin {
  if (options === null || typeof options !== 'object')
    throw new ConfigurationError(
      `${ADMIN}: createRabbitMqDeadLetterAdmin needs the transport's options: { url: "amqp://..." } or { connect }.`,
    );
  const resolved = resolveOptions(options, connectWithUrl);
  const { publishTimeoutMs, onError } = resolved;
  const names: DeadLetterNames = {
    queueFor: resolved.queueFor,
    subscriptionQueueFor: resolved.subscriptionQueueFor,
  };
  const keeper = new ConnectionKeeper('admin', resolved.open, resolved.reconnect, onError);
  const publisher = new ConfirmPublisher(keeper, {
    window: resolved.publishWindow,
    timeoutMs: publishTimeoutMs,
    backoff: resolved.reconnect,
    prepare: async () => undefined,
    onError,
  });
  let closed = false;
  let tail: Promise<unknown> = Promise.resolve();

  /** Runs admin calls one at a time: two browses at once would each hide messages from the other. */
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new ClosedError(ADMIN));
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };

  const unavailable = (doing: string, error: unknown) =>
    new UnavailableError(
      `${ADMIN}: could not ${doing} (${(error as Error).message}). Check that RabbitMQ runs, then try again; messages not yet acknowledged stay in the dead-letter queue.`,
      { cause: error },
    );

  /**
   * Visits the dead letters of `subscription`'s queue oldest first, until `visit` returns false
   * or the queue has nothing more to give (each message taken stays held, so it is visited
   * once); then runs `finish` (still on the open channel) and closes the channel, which gives
   * back every message not acknowledged. Not bounded by the queue's message count: a quorum
   * queue reports 0 for a moment after a browse gave its messages back.
   */
  const browse = async (subscription: string, visit: Visitor, finish?: () => Promise<void>) => {
    const queue = resolved.deadLetterQueueFor(subscription);
    const connection = await keeper.ready(AbortSignal.timeout(publishTimeoutMs));
    let channel: Channel;
    try {
      channel = await connection.createChannel();
    } catch (error) {
      throw unavailable(`open a channel to read "${queue}"`, error);
    }
    // A failed operation closes the channel and rejects its own promise; 'close' follows.
    channel.on('error', () => undefined);
    let acked = 0;
    let failure: { error: unknown } | undefined;
    try {
      let exists = true;
      try {
        await channel.checkQueue(queue);
      } catch (error) {
        // No dead-letter queue (the subscription never ran): no dead letters. RabbitMQ closed
        // the channel with the 404.
        if (!isNotFound(error)) throw unavailable(`read dead-letter queue "${queue}"`, error);
        exists = false;
      }
      while (exists) {
        const message = await channel
          .get(queue, { noAck: false })
          .catch((error: unknown) => Promise.reject(unavailable(`read "${queue}"`, error)));
        if (!message) break;
        const ack = () => {
          try {
            channel.ack(message);
          } catch (error) {
            throw unavailable(`remove a dead letter from "${queue}"`, error);
          }
          acked += 1;
        };
        if (!(await visit(browsedDeadLetter(message, subscription), ack))) break;
      }
    } catch (error) {
      failure = { error };
    }
    if (finish) {
      try {
        await finish();
      } catch (error) {
        failure ??= { error };
      }
    }
    try {
      // close-ok comes after the broker handled every ack sent before it.
      await channel.close();
    } catch (error) {
      if (acked && !failure)
        failure = {
          error: unavailable(
            `confirm the removal of ${acked} dead letter(s) from "${queue}"; they may still be listed`,
            error,
          ),
        };
    }
    if (failure) throw failure.error;
  };

  /**
   * The queue a redrive publishes to: the one the dead letter was consumed from, checked to be
   * the subscription's own as this admin names them (an event's subscription queue, a command's
   * owning queue), so that a redrive never reaches another subscription.
   */
  const redriveQueueOf = ({ view, origin }: BrowsedDeadLetter): string => {
    const { kind, type } = view.attributes;
    const events = names.subscriptionQueueFor(view.subscription);
    const commands = type ? [resolved.queueFor(type)] : [];
    const own = kind === 'event' ? [events] : kind === 'command' ? commands : [events, ...commands];
    if (origin !== undefined && own.includes(origin)) return origin;
    if (origin === undefined && own.length === 1) return own[0]!;
    throw new ConfigurationError(
      `${ADMIN}: dead letter ${view.handle} (message ${view.attributes.id ?? 'without id'}) of "${view.subscription}" came from ${origin === undefined ? 'an unknown queue' : `queue "${origin}"`}, and this admin names ${own.length ? own.map((q) => `"${q}"`).join(' or ') : 'no queue'} for it. Create the admin with the transport's options (queueFor, subscriptionQueueFor), or discard the dead letter.`,
    );
  };

  return {
    async list(subscription, { code, limit = 100 } = {}) {
      assertSubscription('list', subscription);
      if (!Number.isSafeInteger(limit) || limit < 0)
        throw new ConfigurationError(`${ADMIN}: list() limit is ${limit}: use an integer >= 0.`);
      return serial(async () => {
        // Identical copies of one dead letter share a handle: listed once.
        const found = new Map<string, DeadLetter>();
        if (limit === 0) return [];
        await browse(subscription, async ({ view }) => {
          if (code === undefined || view.reason.code === code)
            if (!found.has(view.handle)) found.set(view.handle, view);
          return found.size < limit;
        });
        return [...found.values()];
      });
    },

    async get(subscription, handle) {
      assertSubscription('get', subscription);
      return serial(async () => {
        let found: DeadLetter | undefined;
        await browse(subscription, async ({ view }) => {
          if (view.handle === handle) found = view;
          return found === undefined;
        });
        return found;
      });
    },

    async redrive(subscription, selection: RedriveSelection) {
      assertSubscription('redrive', subscription);
      selectForRedrive([], selection); // a selection that names nothing throws before any read
      return serial(async () => {
        const redriven = new Map<string, DeadLetter>();
        /** Each handle's confirm; a later identical copy is acknowledged with the first. */
        const sent = new Map<string, Promise<void>>();
        let batch: { view: DeadLetter; queue: string; confirmed: Promise<void>; ack(): void }[] =
          [];
        // Acknowledges the dead letters whose copy RabbitMQ confirmed; reports the first failure.
        const flush = async () => {
          const settled = await Promise.allSettled(batch.map((item) => item.confirmed));
          const items = batch;
          batch = [];
          let failed: { error: unknown; view: DeadLetter; queue: string } | undefined;
          settled.forEach((result, index) => {
            const { view, queue, ack } = items[index]!;
            if (result.status === 'rejected') {
              failed ??= { error: result.reason, view, queue };
              return;
            }
            ack();
            if (!redriven.has(view.handle)) redriven.set(view.handle, view);
          });
          if (failed)
            throw new UnavailableError(
              `${ADMIN}: could not redrive dead letter ${failed.view.handle} (message ${failed.view.attributes.id ?? 'without id'}) of "${subscription}" to queue "${failed.queue}": ${(failed.error as Error).message} It stays in the dead-letter queue (${redriven.size} redriven before it); redrive it again once the queue exists and RabbitMQ accepts it.`,
              { cause: failed.error },
            );
        };
        await browse(
          subscription,
          async (browsed, ack) => {
            const { view, message } = browsed;
            // One of this call's redrives that failed again: a new dead letter, left for the
            // next call (redriving it here again and again would never end).
            if (sent.has(view.headers[REDRIVE_HEADERS.of] ?? '')) return true;
            let confirmed = sent.get(view.handle);
            if (confirmed === undefined) {
              if (!selectForRedrive([view], selection).length) return true;
              const queue = redriveQueueOf(browsed);
              confirmed = publisher.publish({
                exchange: '',
                routingKey: queue,
                content: message.content,
                options: redriveOptions(browsed),
              });
              confirmed.catch(() => undefined); // read in flush
              sent.set(view.handle, confirmed);
              batch.push({ view, queue, confirmed, ack });
            } else {
              batch.push({ view, queue: '', confirmed, ack });
            }
            if (batch.length >= resolved.publishWindow) await flush();
            return true;
          },
          flush,
        );
        return [...redriven.values()];
      });
    },

    async discard(subscription, handle) {
      assertSubscription('discard', subscription);
      return serial(async () => {
        let discarded = false;
        // Through the whole queue: identical copies of the dead letter go with it.
        await browse(subscription, async ({ view }, ack) => {
          if (view.handle !== handle) return true;
          ack();
          discarded = true;
          return true;
        });
        return discarded;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      await tail;
      await publisher.close();
      await keeper.close();
    },
  };
}
