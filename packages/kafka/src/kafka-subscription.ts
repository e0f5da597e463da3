// One running subscription: a kafkajs consumer in the subscription's consumer group, run with
// eachBatch, manual commits and per-key concurrency. It rebuilds its consumer when kafkajs gives
// up on one (a crash kafkajs does not restart itself, see kafkajs #1720 and #1527), and closes
// gracefully: stop fetching, finish in-flight records, commit, leave the group.
import { type Subscription, UnavailableError } from '@eda/core';
import type { MessagingServer } from '@eda/core/adapter';
import { abortableSleep, type DeliveryHandler } from '@eda/core/adapter';
import type { Consumer, Kafka } from 'kafkajs';
import { processBatch } from './batch-processor.js';
import type { ResolvedKafkaOptions } from './kafka-transport-options.js';
import type { RecordWriter } from './record-writer.js';
import { Slots } from './slots.js';
import type { SubscriptionContext } from './subscription-context.js';
import type { TransportMonitor } from './transport-events.js';

/** A running Kafka subscription. */
export interface KafkaSubscription extends Subscription {
  /** The consumer group. */
  readonly name: string;
  /** Topics this member reads, retry topics included. */
  readonly topics: readonly string[];
  /**
   * Stops fetching new records (in-flight ones finish and commit) until `resume()`; for
   * backpressure the application decides on, such as a downstream system being overloaded.
   * The member stays in its group and keeps heartbeating.
   */
  pause(): void;
  /** Fetches again after `pause()`. */
  resume(): void;
}

/** The subscription as the transport holds it, with the crash simulation used by tests. */
export interface ManagedSubscription extends KafkaSubscription {
  /**
   * Simulates this member's process dying: in-flight results are ignored, nothing more is
   * settled or committed, and the consumer disconnects without waiting for handlers.
   */
  kill(): Promise<void>;
}

export interface StartSubscriptionOptions {
  readonly kafka: Kafka;
  readonly name: string;
  readonly topics: readonly string[];
  readonly retryTopics: readonly string[];
  readonly deadLetterTopic: string;
  readonly startAt: 'earliest' | 'latest';
  readonly concurrency: number;
  readonly handler: DeliveryHandler;
  readonly writer: RecordWriter;
  readonly options: ResolvedKafkaOptions;
  readonly monitor: TransportMonitor;
  /** The broker named in spans (`server.address`, `server.port`), when known. */
  readonly server: MessagingServer | undefined;
  /** Called once when the subscription has closed. */
  readonly onClosed: () => void;
}

/**
 * Joins the group and starts consuming. Resolves when the member has joined (and, for
 * `startAt: 'latest'`, has fixed its start offsets, so records published afterwards are read).
 * @throws UnavailableError when the consumer cannot connect or subscribe.
 */
export async function startSubscription(
  params: StartSubscriptionOptions,
): Promise<ManagedSubscription> {
  const { kafka, name, topics, options } = params;
  const closing = new AbortController();
  const killed = new AbortController();
  // Bound once the subscription object exists; a failure before that cannot happen (no batch runs).
  let stopSelf: (error: Error) => void = () => undefined;
  const ctx: SubscriptionContext = {
    name,
    handler: params.handler,
    slots: new Slots(params.concurrency),
    writer: params.writer,
    options,
    deadLetterTopic: params.deadLetterTopic,
    retryTopics: params.retryTopics,
    attempts: new Map(),
    closing: closing.signal,
    killed: killed.signal,
    commitChains: new Map(),
    monitor: params.monitor,
    server: params.server,
    fail: (error) => stopSelf(error),
    membership: { epoch: 0 },
    retryDeadlines: new Map(),
    pausedByUser: () => paused,
  };
  let consumer: Consumer | undefined;
  let paused = false;
  let rebuilding: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  const build = async (): Promise<Consumer> => {
    const c = kafka.consumer({
      groupId: name,
      sessionTimeout: options.consumer.sessionTimeoutMs,
      rebalanceTimeout: options.consumer.rebalanceTimeoutMs,
      heartbeatInterval: options.consumer.heartbeatIntervalMs,
      maxBytesPerPartition: options.consumer.maxBytesPerPartition,
      maxWaitTimeInMs: options.consumer.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    c.on(c.events.CRASH, (event) => {
      options.onError(
        new UnavailableError(
          `Kafka subscription "${name}" consumer crashed: ${event.payload.error.message}${event.payload.restart ? ' (kafkajs restarts it)' : ' (rebuilding it)'}.`,
          { cause: event.payload.error },
        ),
      );
      if (!event.payload.restart && !closing.signal.aborted) rebuild(c);
    });
    let firstFetch!: () => void;
    const fetched = new Promise<void>((resolve) => {
      firstFetch = resolve;
    });
    const removeFetchListener = c.on(c.events.FETCH, () => firstFetch());
    // A rejoin starts (REBALANCING) or completes (GROUP_JOIN, also after kafkajs rejoins on its
    // own for an unknown member id): commits queued before it belong to a generation that is over.
    const newEpoch = () => {
      ctx.membership.epoch += 1;
    };
    c.on(c.events.REBALANCING, newEpoch);
    c.on(c.events.GROUP_JOIN, newEpoch);
    newEpoch();
    try {
      await c.connect();
      await c.subscribe({ topics: [...topics], fromBeginning: params.startAt === 'earliest' });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.consumer.partitionsConsumedConcurrently,
        eachBatch: (payload) => processBatch(payload, ctx),
      });
      if (paused) c.pause(topics.map((topic) => ({ topic })));
      if (params.startAt === 'latest') {
        // kafkajs fixes "latest" start offsets at its first fetch, not when run() resolves:
        // wait for that fetch so a record published after subscribe() resolves is read.
        // The fallback timer is cancelled once the race is decided, so it never holds the
        // process open after a fast start.
        const decided = new AbortController();
        await Promise.race([
          fetched,
          abortableSleep(options.consumer.maxWaitTimeMs + 10_000, decided.signal),
        ]);
        decided.abort();
      }
    } catch (cause) {
      await c.disconnect().catch(() => undefined);
      throw new UnavailableError(
        `Kafka subscription "${name}" could not start on ${topics.join(', ')}: ${(cause as Error).message}.`,
        { cause },
      );
    } finally {
      removeFetchListener();
    }
    return c;
  };

  function rebuild(crashed: Consumer): void {
    if (rebuilding || consumer !== crashed) return;
    rebuilding = (async () => {
      let backoffMs = 500;
      await crashed.disconnect().catch(() => undefined);
      while (!closing.signal.aborted) {
        try {
          consumer = await build();
          return;
        } catch (error) {
          options.onError(error);
          await abortableSleep(backoffMs, closing.signal);
          backoffMs = Math.min(10_000, backoffMs * 2);
        }
      }
    })().finally(() => {
      rebuilding = undefined;
    });
  }

  consumer = await build();

  const subscription: ManagedSubscription = {
    name,
    topics,
    pause() {
      paused = true;
      consumer?.pause(topics.map((topic) => ({ topic })));
    },
    resume() {
      paused = false;
      consumer?.resume(topics.map((topic) => ({ topic })));
    },
    close() {
      closed ??= (async () => {
        closing.abort();
        await rebuilding;
        // Commits fired by earlier batches land before the member leaves its group.
        await Promise.all(ctx.commitChains.values());
        // disconnect() stops the fetch loop, waits for running batches (which finish their
        // in-flight records and commit), then leaves the group.
        await consumer?.disconnect().catch((error: unknown) => options.onError(error));
        params.onClosed();
      })();
      return closed;
    },
    kill() {
      killed.abort();
      return subscription.close();
    },
  };
  stopSelf = (error) => {
    if (closing.signal.aborted) return;
    options.onError(error);
    params.monitor.report({ kind: 'subscription-stopped', subscription: name, error });
    // Not awaited: the caller is a batch that close() itself waits for.
    void subscription.close();
  };
  return subscription;
}
