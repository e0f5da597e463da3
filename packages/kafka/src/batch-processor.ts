// Processes one fetched batch of one partition with per-key concurrency: records of one key run
// strictly in order, different keys run in parallel up to the member's in-flight bound. The
// partition's offset is committed only up to the last record before which everything is
// settled. A rebalance or close stops new work; records not settled by then are not committed
// and are delivered again (to this member or to the partition's new owner).
import { UnavailableError } from '@eda/core';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { BatchStop } from './batch-stop.js';
import { isMembershipLost } from './membership-errors.js';
import { PartitionProgress } from './partition-progress.js';
import { retryDueAt } from './retry-due.js';
import { settleRecord } from './settle-record.js';
import type { SubscriptionContext } from './subscription-context.js';
import { KAFKA_SYSTEM, kafkaTelemetry } from './telemetry.js';

function laneOf(ctx: SubscriptionContext, message: KafkaMessage): string {
  if (message.key) return `k${message.key.toString('latin1')}`;
  return ctx.options.consumer.unkeyedOrder === 'partition' ? 'u' : `o${message.offset}`;
}

/** Runs once the shutdown grace period after close() has passed. */
function shutdownDeadline(ctx: SubscriptionContext): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    timer = setTimeout(resolveIt, ctx.options.consumer.shutdownTimeoutMs);
  };
  let resolveIt!: () => void;
  const promise = new Promise<void>((resolve) => {
    resolveIt = resolve;
  });
  if (ctx.closing.aborted) start();
  else ctx.closing.addEventListener('abort', start, { once: true });
  return {
    promise,
    cancel() {
      clearTimeout(timer);
      ctx.closing.removeEventListener('abort', start);
    },
  };
}

/**
 * How many records at the head of a retry-topic batch are due (or due within one fetch wait,
 * which settleRecord sleeps out), and when the first one that is not becomes due.
 */
function duePrefix(
  ctx: SubscriptionContext,
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
): { count: number; nextDueAt: number | undefined } {
  if (!ctx.retryTopics.includes(topic)) return { count: messages.length, nextDueAt: undefined };
  const horizon = Date.now() + ctx.options.consumer.maxWaitTimeMs;
  for (let i = 0; i < messages.length; i++) {
    const dueAt = retryDueAt(ctx, topic, partition, messages[i]!);
    if (dueAt > horizon) return { count: i, nextDueAt: dueAt };
  }
  return { count: messages.length, nextDueAt: undefined };
}

/**
 * Pauses a retry-topic partition until its next record is due. Sleeping inside the batch
 * instead would hold every partition of the fetch for this member; paused, the partition is
 * fetched again from its first unsettled record once resumed.
 */
function pauseUntil(payload: EachBatchPayload, ctx: SubscriptionContext, dueAt: number): void {
  const resume = payload.pause();
  const timer = setTimeout(
    () => {
      // The application's own pause wins: its resume() resumes this partition too.
      if (!ctx.closing.aborted && !ctx.pausedByUser()) resume();
    },
    Math.max(0, dueAt - Date.now()),
  );
  // A pending resume must not keep a closing process alive.
  timer.unref();
}

/**
 * The eachBatch body of a subscription.
 * @throws the kafkajs membership error when a rebalance started, after in-flight work settled
 * and what could be committed was, so that kafkajs rejoins the group.
 */
export async function processBatch(
  payload: EachBatchPayload,
  ctx: SubscriptionContext,
): Promise<void> {
  const { batch } = payload;
  const { topic, partition } = batch;
  if (!batch.messages.length) return;
  // Retry-topic records are taken only while due; later ones wait for the resumed fetch.
  const due = duePrefix(ctx, topic, partition, batch.messages);
  const messages =
    due.count === batch.messages.length ? batch.messages : batch.messages.slice(0, due.count);
  if (due.nextDueAt !== undefined) pauseUntil(payload, ctx, due.nextDueAt);
  if (!messages.length) return;
  // The lag after this batch: from the last record fetched to the partition's end at fetch time.
  kafkaTelemetry.recordLag(() => ({
    attributes: {
      'messaging.system': KAFKA_SYSTEM,
      'messaging.consumer.group.name': ctx.name,
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': String(partition),
    },
    lag:
      Number(batch.highWatermark) - Number(batch.messages[batch.messages.length - 1]!.offset) - 1,
  }));
  const abandon = new AbortController();
  const stop = new BatchStop([abandon.signal, ctx.closing, ctx.killed]);
  let membershipError: unknown;
  const lost = (error: unknown) => {
    membershipError ??= error;
    abandon.abort();
  };

  const progress = new PartitionProgress(messages.map((m) => m.offset));
  // The membership this batch was fetched in: its commits are only valid in it.
  const epoch = ctx.membership.epoch;
  // Commits of one partition are chained across batches, so an older commit can never land
  // after a newer one and move the group back.
  const chainKey = `${topic}\u0000${partition}`;
  let commits: Promise<void> = ctx.commitChains.get(chainKey) ?? Promise.resolve();
  let requested: bigint | undefined;
  let resolved: bigint | undefined;
  const commit = (): Promise<void> => {
    const last = progress.lastContiguous();
    if (last === undefined || ctx.killed.aborted) return commits;
    // The fetch position moves past settled records at once (synchronously, before the batch
    // returns), even if the commit below fails: it is tried again (see retryLater), a later
    // commit of this partition covers them, and a crash before that redelivers them.
    if (resolved === undefined || last > resolved) {
      payload.resolveOffset(String(last));
      resolved = last;
    }
    if (requested !== undefined && last <= requested) return commits;
    requested = last;
    return queueCommit(last);
  };
  const queueCommit = (last: bigint): Promise<void> => {
    const queued: Promise<void> = commits.then(async () => {
      // kafkajs fills in the generation when the commit is sent, not when it was asked for: a
      // commit that waited here while the member rejoined would go out under the new
      // generation, which the broker accepts, and could move back the offset of a partition
      // that now belongs to another member. Dropped, its records are delivered again.
      if (ctx.membership.epoch !== epoch) {
        ctx.monitor.report({
          kind: 'commit-dropped',
          subscription: ctx.name,
          topic,
          partition,
          offset: String(last + 1n),
        });
        return;
      }
      try {
        await kafkaTelemetry.settle(
          {
            system: KAFKA_SYSTEM,
            operationName: 'commit',
            destination: topic,
            consumerGroup: ctx.name,
            server: ctx.server,
            attributes: {
              'messaging.destination.partition.id': String(partition),
              'messaging.kafka.offset': Number(last),
            },
          },
          undefined,
          () =>
            payload.commitOffsetsIfNecessary({
              topics: [{ topic, partitions: [{ partition, offset: String(last + 1n) }] }],
            }),
        );
      } catch (error) {
        if (isMembershipLost(error)) lost(error);
        retryLater(last, queued);
        ctx.options.onError(
          new UnavailableError(
            `Kafka subscription "${ctx.name}" could not commit ${topic}/${partition} up to offset ${last}: ${(error as Error).message}. It is tried again while this member keeps the partition; those records are delivered again if this member stops before a commit succeeds.`,
            { cause: error },
          ),
        );
      }
    });
    commits = queued;
    ctx.commitChains.set(chainKey, queued);
    return queued;
  };
  // The fetch position is already past the records of a failed commit, so when no later
  // record comes, nothing else would ever commit them: the group's lag would stay above 0
  // for as long as this member lives. A rejoin needs no retry (kafkajs fetches again from the
  // committed offset, so the records come again); a membership error without a rejoin (such
  // as NOT_COORDINATOR_FOR_GROUP) does; a newer commit of the partition covers this one.
  const retryLater = (last: bigint, failed: Promise<void>) => {
    const timer = setTimeout(() => {
      const newest = ctx.commitChains.get(chainKey);
      if (newest !== failed || ctx.membership.epoch !== epoch) return;
      if (ctx.closing.aborted || ctx.killed.aborted) return;
      void queueCommit(last);
    }, ctx.options.consumer.commitIntervalMs);
    // A pending retry must not keep a closing process alive.
    timer.unref();
  };

  const heartbeats = setInterval(
    () => {
      payload.heartbeat().catch((error: unknown) => {
        if (isMembershipLost(error)) lost(error);
      });
    },
    Math.max(100, Math.floor(ctx.options.consumer.heartbeatIntervalMs / 2)),
  );
  const commitTimer = setInterval(() => {
    void commit();
  }, ctx.options.consumer.commitIntervalMs);
  const deadline = shutdownDeadline(ctx);
  let onKilled: (() => void) | undefined;

  try {
    // One runner per key works through that key's records strictly in order; runners of
    // different keys compete for the member's slots.
    const lanes = new Map<string, number[]>();
    messages.forEach((message, position) => {
      const lane = laneOf(ctx, message);
      const queue = lanes.get(lane);
      if (queue) queue.push(position);
      else lanes.set(lane, [position]);
    });
    const runLane = async (queue: readonly number[]) => {
      for (const position of queue) {
        const message = messages[position]!;
        let settled = false;
        try {
          settled = await settleRecord(ctx, topic, partition, message, stop);
        } catch (error) {
          // settleRecord handles every failure itself; this guard keeps the record unsettled
          // (so uncommitted) rather than losing it.
          ctx.options.onError(error);
          abandon.abort();
        }
        // A record left unsettled stops its key: later records of the key must not overtake it.
        if (!settled) return;
        progress.settle(position);
      }
    };
    const runs = [...lanes.values()].map(runLane);
    const killed = new Promise<void>((resolve) => {
      onKilled = () => resolve();
      if (ctx.killed.aborted) resolve();
      else ctx.killed.addEventListener('abort', onKilled, { once: true });
    });
    await Promise.race([Promise.all(runs), deadline.promise, killed]);
  } finally {
    clearInterval(heartbeats);
    clearInterval(commitTimer);
    deadline.cancel();
    // One listener per batch would otherwise pile up on the member's signal for its lifetime.
    if (onKilled) ctx.killed.removeEventListener('abort', onKilled);
  }
  const committing = commit();
  // Leaving (close) or rejoining (rebalance) must wait for the commit, which is only valid in
  // this generation. Otherwise the next fetch need not wait for it: if the member starts to
  // rejoin before it is sent, it is dropped (see above); one already sent when the generation
  // moves on is refused by the broker (ILLEGAL_GENERATION). Either way the records come again.
  if (ctx.closing.aborted || membershipError !== undefined) await committing;
  if (membershipError !== undefined) throw membershipError;
}
