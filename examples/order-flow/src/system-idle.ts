// "Is the system idle?" as one call: every outbox record published, and every consumer caught
// up (no Kafka lag for its group, nothing waiting in its RabbitMQ queues). It reads the
// adapters' own monitoring APIs (the outbox store's counts, the Kafka transport's lag, queue
// depths by the RabbitMQ transport's names); no SQL or broker admin code of your own.
import type { KafkaTransport } from '@eda/kafka';
import type { OutboxCounts } from '@eda/postgres-outbox';
import type { RabbitMqTransport } from '@eda/rabbitmq';
import amqp from 'amqplib';

/** One consumer of the system: its group (or queue owner) name and what it reads. */
export interface ConsumerSpec {
  readonly name: string;
  readonly kind: 'event' | 'command';
  readonly types: readonly string[];
}

export interface SystemIdleOptions {
  /** The outbox store (its `counts()`). */
  readonly outbox: { counts(): Promise<OutboxCounts> };
  /** Events, for the lag of each event consumer's group. */
  readonly events: KafkaTransport;
  /** Commands, for the depth of each command queue and of the retry holding queues. */
  readonly commands: RabbitMqTransport;
  /** The AMQP URL to read queue depths with (a connection of the probe's own). */
  readonly amqpUrl: string;
  readonly consumers: readonly ConsumerSpec[];
}

/** What the probe saw. */
export interface IdleReport {
  /** True when nothing is pending in the outbox and every backlog is 0. */
  readonly idle: boolean;
  readonly outbox: OutboxCounts;
  /** Messages not yet settled, per `group topic` (Kafka) or queue (RabbitMQ). Unknown counts as 1. */
  readonly backlog: Readonly<Record<string, number>>;
}

export interface WaitForIdleOptions {
  /**
   * The system must look idle for this long without a break. RabbitMQ reports the messages
   * ready in a queue, not those a consumer is handling (unacked): a command in a handler right
   * now is invisible, so one idle look is not proof. @default 1000
   */
  readonly quietMs?: number;
  /** Gives up (throws, with the last report) when the report has not changed for this long. @default 60000 */
  readonly noProgressMs?: number;
  /** @default 200 */
  readonly pollMs?: number;
}

export interface SystemIdleProbe {
  /** One look at the outbox and every consumer's backlog. */
  check(): Promise<IdleReport>;
  /**
   * Resolves with the report once the system has looked idle for `quietMs`. Waits as long as
   * something moves; throws when nothing moved for `noProgressMs` (a stuck system).
   */
  waitForIdle(options?: WaitForIdleOptions): Promise<IdleReport>;
  close(): Promise<void>;
}

export function createSystemIdleProbe(options: SystemIdleOptions): SystemIdleProbe {
  const { outbox, events, commands, amqpUrl, consumers } = options;
  let connection: Promise<amqp.ChannelModel> | undefined;

  const openChannel = async () => {
    connection ??= amqp.connect(amqpUrl).then((opened) => {
      // A lost connection is opened again on the next look, never an unhandled 'error'.
      opened.on('error', () => undefined);
      opened.on('close', () => {
        connection = undefined;
      });
      return opened;
    });
    try {
      return await (await connection).createChannel();
    } catch (error) {
      connection = undefined;
      throw error;
    }
  };

  const queueDepth = async (queue: string): Promise<number> => {
    const channel = await openChannel();
    // A missing queue closes the channel with 404: nothing was ever sent to it.
    channel.on('error', () => undefined);
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return 0;
      throw error;
    } finally {
      await channel.close().catch(() => undefined);
    }
  };

  const backlogOf = async (consumer: ConsumerSpec): Promise<[string, number][]> => {
    if (consumer.kind === 'command')
      return Promise.all(
        consumer.types.map(async (type) => {
          const queue = commands.names.commandQueue(type);
          return [queue, await queueDepth(queue)] as [string, number];
        }),
      );
    return Promise.all(
      consumer.types.map(async (type) => {
        const topic = events.topicFor(type);
        const lag = (await events.lag(consumer.name, topic)).reduce((n, p) => n + p.lag, 0);
        return [`${consumer.name} ${topic}`, lag] as [string, number];
      }),
    );
  };

  // What cannot be read counts as busy, named with the reason, so a stuck wait says why.
  const unknownIsBusy = <T>(promise: Promise<T>, busy: (reason: string) => T) =>
    promise.catch((error: unknown) => busy((error as Error).message ?? String(error)));

  // The watched topics are created first (as their consumers would on subscribe): the lag of a
  // topic that does not exist yet is an error, not 0, and treating that error as "empty" would
  // also hide a topic created a moment ago that the client's metadata does not know yet.
  let topicsReady: Promise<void> | undefined;
  const ensureTopics = () => {
    const topics = consumers
      .filter((c) => c.kind === 'event')
      .flatMap((c) => c.types.map((type) => events.topicFor(type)));
    topicsReady ??= events.ensureTopics([...new Set(topics)]).catch((error: unknown) => {
      topicsReady = undefined;
      throw error;
    });
    return topicsReady;
  };

  const check = async (): Promise<IdleReport> => {
    await ensureTopics();
    const [counts, ...parts] = await Promise.all([
      outbox.counts(),
      ...consumers.map((c) =>
        unknownIsBusy(backlogOf(c), (reason): [string, number][] => [
          [`${c.name} (cannot read: ${reason})`, 1],
        ]),
      ),
      // Retries wait in the holding queues before they return to their work queue.
      ...commands.names
        .delayQueues()
        .map(async (q) => [[q, await unknownIsBusy(queueDepth(q), () => 1)]] as [string, number][]),
    ]);
    const backlog = Object.fromEntries(parts.flat() as [string, number][]);
    const idle = counts.pending === 0 && Object.values(backlog).every((n) => n === 0);
    return { idle, outbox: counts, backlog };
  };

  return {
    check,
    async waitForIdle({ quietMs = 1000, noProgressMs = 60_000, pollMs = 200 } = {}) {
      let idleSince: number | undefined;
      let last = '';
      let lastChange = Date.now();
      for (;;) {
        const report = await check();
        const now = Date.now();
        if (report.idle) {
          idleSince ??= now;
          if (now - idleSince >= quietMs) return report;
        } else idleSince = undefined;
        const seen = JSON.stringify([report.outbox.pending, report.backlog]);
        if (seen !== last) [last, lastChange] = [seen, now];
        else if (!report.idle && now - lastChange > noProgressMs)
          throw new Error(
            `The order flow made no progress for ${noProgressMs} ms and is not idle: ${JSON.stringify(report)}. Is every consumer process running?`,
          );
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    async close() {
      const open = connection;
      connection = undefined;
      if (open) await (await open).close();
    },
  };
}
