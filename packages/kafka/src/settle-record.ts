// One record's way through a subscription: deliver it, then carry out the disposition. Returns
// true only when the record is settled (acked, dead-lettered, or handed to a retry topic), so
// the caller may count it towards the commit point. A record abandoned by a rebalance or close
// returns false and is never committed.
import { ConfigurationError, type DeadLetterReason, type DeliveryOrigin } from '@eda/core';
import {
  abortableSleep,
  type Delivery,
  type Disposition,
  deadLetterHeaders,
  describeError,
  type SettleTarget,
  setOwn,
} from '@eda/core/adapter';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { BatchStop } from './batch-stop.js';
import {
  bodyOf,
  headerReader,
  headerStrings,
  readRecordHeaders,
  receivedValues,
  withKeyAsPartitionKey,
} from './record-mapping.js';
import { forgetRetryDue, retryDueAt } from './retry-due.js';
import { INTERNAL_HEADER_NAMES, RETRY_HEADERS, readRetryState } from './retry-headers.js';
import type { SubscriptionContext } from './subscription-context.js';
import { KAFKA_SYSTEM, kafkaTelemetry } from './telemetry.js';
import type { WriteRefusal } from './transport-events.js';
import { refusalOf } from './write-refusal.js';

/** Header added to a dead letter whose value was left out because it was too large. */
export const BODY_DROPPED_HEADER = 'x-eda-body-dropped-bytes';

/** The record's own headers minus the transport's, ready to be written again. */
function userHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    if (INTERNAL_HEADER_NAMES.has(name.toLowerCase())) continue;
    // What kafkajs adds under inherited names (see receivedValues) cannot be written back.
    const values = receivedValues(raw);
    if (values.length > 0) setOwn(out, name, values.length === 1 ? values[0] : values);
  }
  return out;
}

/** Key of a record in `ctx.attempts`; built only when a record failed or attempts are remembered. */
function attemptKeyOf(topic: string, partition: number, offset: string): string {
  return `${topic}\u0000${partition}\u0000${offset}`;
}

type CopyMessage = { key: Buffer | null; value: Buffer | null; headers: IHeaders };

/**
 * A refusal that is not about size may be a moment's view (a topic just created, ACLs being
 * applied): it counts as permanent only after this many writes in a row were refused.
 */
const REFUSALS_BEFORE_GIVING_UP = 3;

/**
 * Writes until the broker acknowledges, `stop` aborts, or the broker refuses the write for good.
 * Transient failures are retried with backoff: the record stays unsettled meanwhile, so the
 * partition does not commit past it.
 * @returns 'written', 'aborted', or the permanent refusal.
 */
async function writeCopy(
  ctx: SubscriptionContext,
  topic: string,
  message: CopyMessage,
  stop: BatchStop,
): Promise<'written' | 'aborted' | { refusal: WriteRefusal; error: unknown }> {
  let backoffMs = 200;
  let refusals = 0;
  for (;;) {
    if (stop.aborted) return 'aborted';
    try {
      await ctx.writer.write([{ topic, messages: [message] }]);
      return 'written';
    } catch (error) {
      const refusal = refusalOf(error);
      // Too large never changes by waiting: the caller trims or reroutes at once.
      if (refusal === 'too-large') return { refusal, error };
      refusals = refusal ? refusals + 1 : 0;
      if (refusal && refusals >= REFUSALS_BEFORE_GIVING_UP) return { refusal, error };
      ctx.options.onError(error);
      await abortableSleep(backoffMs, stop.signal);
      backoffMs = Math.min(5000, backoffMs * 2);
    }
  }
}

const REFUSAL_ADVICE: Readonly<Record<WriteRefusal, string>> = {
  'too-large': "raise the topic's max.message.bytes (and the broker's message.max.bytes)",
  'missing-topic': 'create the topic (transport.ensureTopics) or turn topics.autoCreate on',
  'not-authorized': 'grant this client Write (and Describe) on the topic',
  'invalid-record': "check the topic's configuration (for example a compacted topic needs keys)",
};

/** Stops the subscription for a write the broker refuses for good; the record stays unsettled. */
function stopFor(
  ctx: SubscriptionContext,
  topic: string,
  what: string,
  refused: { refusal: WriteRefusal; error: unknown },
  origin: DeliveryOrigin,
): false {
  const cause = (refused.error as Error)?.message ?? String(refused.error);
  const why =
    refused.refusal === 'missing-topic' ? 'the topic is missing (does not exist)' : refused.refusal;
  const error = new ConfigurationError(
    `Kafka subscription "${ctx.name}" stopped: the broker refuses its ${what} to topic "${topic}" for good (${why}: ${cause}). The record at ${origin.destination}/${origin.partition ?? '?'}@${origin.offset ?? '?'} was not settled and nothing past it was committed; it is delivered again when you subscribe again. To fix: ${REFUSAL_ADVICE[refused.refusal]}.`,
    { cause: refused.error },
  );
  ctx.monitor.report({
    kind: 'write-refused',
    subscription: ctx.name,
    topic,
    refusal: refused.refusal,
    action: 'stopped',
    message: cause,
  });
  ctx.fail(error);
  return false;
}

/**
 * Writes the dead letter of `message`. A copy the broker refuses as too large is written again
 * trimmed (payload left out, then the original's headers too); any other permanent refusal
 * stops the subscription rather than committing past a record it could not keep.
 */
async function deadLetter(
  ctx: SubscriptionContext,
  message: KafkaMessage,
  reason: DeadLetterReason,
  origin: DeliveryOrigin,
  stop: BatchStop,
  dropBody = false,
): Promise<boolean> {
  const topic = ctx.deadLetterTopic;
  const reasonHeaders = deadLetterHeaders(reason, origin);
  const dropped = { [BODY_DROPPED_HEADER]: String(message.value?.byteLength ?? 0) };
  const original = userHeaders(message.headers);
  const attempts: CopyMessage[] = [
    ...(dropBody
      ? []
      : [{ key: message.key, value: message.value, headers: { ...original, ...reasonHeaders } }]),
    { key: message.key, value: null, headers: { ...original, ...reasonHeaders, ...dropped } },
    // The last resort keeps what identifies the record and why it died.
    {
      key: message.key,
      value: null,
      headers: {
        ...(original.ce_id === undefined ? {} : { ce_id: original.ce_id }),
        ...(original.ce_type === undefined ? {} : { ce_type: original.ce_type }),
        ...reasonHeaders,
        ...dropped,
      },
    },
  ];
  for (const [index, copy] of attempts.entries()) {
    const result = await writeCopy(ctx, topic, copy, stop);
    if (result === 'written') return true;
    if (result === 'aborted') return false;
    if (result.refusal !== 'too-large' || index === attempts.length - 1) {
      return stopFor(ctx, topic, 'dead letter', result, origin);
    }
    reportTooLarge(ctx, topic, result.error, 'trimmed');
  }
  return false;
}

/**
 * Hands a retry to the retry topic. A copy the broker refuses as too large can never be
 * retried through the topics: it is dead-lettered instead, with the retry reason.
 */
async function retryCopy(
  ctx: SubscriptionContext,
  topic: string,
  message: KafkaMessage,
  copy: CopyMessage,
  attempt: number,
  retryReason: string,
  origin: DeliveryOrigin,
  stop: BatchStop,
): Promise<boolean> {
  const result = await writeCopy(ctx, topic, copy, stop);
  if (result === 'written') return true;
  if (result === 'aborted') return false;
  if (result.refusal !== 'too-large') return stopFor(ctx, topic, 'retry copy', result, origin);
  const cause = reportTooLarge(ctx, topic, result.error, 'dead-lettered');
  return deadLetter(
    ctx,
    message,
    {
      code: 'EDA_RETRY_REFUSED',
      errorType: 'RetryRefusedError',
      message:
        `The broker refused the retry copy for ${topic} as too large (${cause}); dead-lettered after attempt ${attempt} instead. Last retry reason: ${retryReason}`.slice(
          0,
          2000,
        ),
      attempts: attempt,
      subscription: ctx.name,
    },
    origin,
    stop,
  );
}

/** Span attributes of a delivered record (asked for only while a span records). */
function deliveryAttributes(
  ctx: SubscriptionContext,
  message: KafkaMessage,
  origin: DeliveryOrigin,
): Record<string, string | number> {
  return {
    'messaging.consumer.group.name': ctx.name,
    ...(origin.offset === undefined ? {} : { 'messaging.kafka.offset': Number(origin.offset) }),
    ...(message.key?.length ? { 'messaging.kafka.message.key': message.key.toString() } : {}),
    ...(ctx.server ? { 'server.address': ctx.server.address } : {}),
    ...(ctx.server?.port === undefined ? {} : { 'server.port': ctx.server.port }),
  };
}

/** The settle span of a retry copy or dead letter: named after the topic the copy goes to. */
function settleTarget(
  ctx: SubscriptionContext,
  operationName: 'retry' | 'dead_letter',
  origin: DeliveryOrigin,
  copyTopic: string,
): SettleTarget {
  return {
    system: KAFKA_SYSTEM,
    operationName,
    destination: origin.destination,
    consumerGroup: ctx.name,
    server: ctx.server,
    attributes: { 'eda.settle.destination': copyTopic },
  };
}

/** A retry's wait, never negative nor longer than `retry.maxDelayMs`. */
function retryDelayMs(ctx: SubscriptionContext, delayMs: number): number {
  return Math.min(ctx.options.retry.maxDelayMs, Math.max(0, delayMs));
}

/**
 * Delivers one record and settles it.
 * @returns true when settled; false when `stop` aborted first (the record must not be committed).
 */
export async function settleRecord(
  ctx: SubscriptionContext,
  topic: string,
  partition: number,
  message: KafkaMessage,
  stop: BatchStop,
): Promise<boolean> {
  if (stop.aborted) return false;
  const read = readRecordHeaders(message.headers);
  const headerBytes = read.bytes;
  const retryState =
    ctx.retryTopics.length && ctx.retryTopics.includes(topic)
      ? readRetryState(headerStrings(message.headers).headers)
      : undefined;
  const origin: DeliveryOrigin = retryState
    ? {
        destination: retryState.destination,
        ...(retryState.partition === undefined ? {} : { partition: retryState.partition }),
        ...(retryState.offset === undefined ? {} : { offset: retryState.offset }),
      }
    : { destination: topic, partition, offset: message.offset };
  let attempt =
    retryState?.attempt ??
    (ctx.attempts.size
      ? (ctx.attempts.get(attemptKeyOf(topic, partition, message.offset)) ?? 0)
      : 0) + 1;

  const size = (message.value?.byteLength ?? 0) + headerBytes;
  if (size > ctx.options.consumer.maxRecordBytes) {
    // Never handed to the handler: a record this large could exhaust its memory. The dead
    // letter keeps the headers and the place of the original; its value stays in the source log.
    return deadLetter(
      ctx,
      message,
      {
        code: 'EDA_RECORD_TOO_LARGE',
        errorType: 'RecordTooLargeError',
        message: `Record of ${size} bytes is larger than consumer.maxRecordBytes (${ctx.options.consumer.maxRecordBytes}); its value was left out of this dead letter and stays at ${origin.destination}/${origin.partition}@${origin.offset} until retention removes it.`,
        attempts: attempt,
        subscription: ctx.name,
      },
      origin,
      stop,
      true,
    );
  }

  if (retryState) {
    // processBatch pauses the partition for longer waits; what is left here is short.
    const dueAt = retryDueAt(ctx, topic, partition, message);
    if (dueAt > Date.now()) {
      await abortableSleep(dueAt - Date.now(), stop.signal);
      if (stop.aborted) return false;
    }
    forgetRetryDue(ctx, topic, partition, message.offset);
  }

  // The attributes read above serve the first delivery; a redelivery gets a fresh copy, so
  // nothing a handler changed in them carries over.
  let attributes: Record<string, string> | undefined = withKeyAsPartitionKey(
    read.attributes,
    message.key,
  );
  for (;;) {
    if (!ctx.slots.tryAcquire()) await ctx.slots.acquire();
    if (stop.aborted) {
      ctx.slots.release();
      return false;
    }
    const delivery: Delivery = {
      attributes:
        attributes ??
        withKeyAsPartitionKey(readRecordHeaders(message.headers).attributes, message.key),
      body: bodyOf(message),
      attempt,
      origin,
      system: KAFKA_SYSTEM,
      header: headerReader(message.headers),
      spanAttributes: () => deliveryAttributes(ctx, message, origin),
    };
    let disposition: Disposition;
    try {
      disposition = await ctx.handler(delivery);
    } catch (error) {
      // A thrown handler error is a retry, never a commit.
      const described = describeError(error);
      disposition = {
        type: 'retry',
        delayMs: ctx.options.consumer.thrownErrorDelayMs,
        reason: `${described.type}: ${described.message}`,
      };
    } finally {
      ctx.slots.release();
    }
    // A killed member settles nothing: the record goes back to the group uncommitted.
    if (ctx.killed.aborted) return false;
    attributes = undefined;
    if (disposition.type === 'ack') {
      if (ctx.attempts.size) ctx.attempts.delete(attemptKeyOf(topic, partition, message.offset));
      return true;
    }
    const attemptKey = attemptKeyOf(topic, partition, message.offset);
    // Remembered for a redelivery to this member after an abandon, which counts one more
    // delivery unless this one was deferred.
    ctx.attempts.set(
      attemptKey,
      disposition.type === 'retry' && disposition.deferred ? attempt - 1 : attempt,
    );

    let settled: boolean;
    if (disposition.type === 'dead-letter') {
      const { reason } = disposition;
      settled = await kafkaTelemetry.settle(
        settleTarget(ctx, 'dead_letter', origin, ctx.deadLetterTopic),
        delivery,
        () => deadLetter(ctx, message, reason, origin, stop),
      );
    } else if (ctx.options.retry.mode === 'topics') {
      // A deferred retry (the message waited on something outside it) keeps its attempt.
      const next = disposition.deferred ? attempt : attempt + 1;
      const tier = Math.min(attempt, ctx.retryTopics.length);
      const { reason, delayMs } = disposition;
      settled = await kafkaTelemetry.settle(
        settleTarget(ctx, 'retry', origin, ctx.retryTopics[tier - 1]!),
        delivery,
        () =>
          retryCopy(
            ctx,
            ctx.retryTopics[tier - 1]!,
            message,
            {
              key: message.key,
              value: message.value,
              headers: {
                ...userHeaders(message.headers),
                [RETRY_HEADERS.attempt]: String(next),
                [RETRY_HEADERS.due]: String(Date.now() + retryDelayMs(ctx, delayMs)),
                [RETRY_HEADERS.reason]: reason.slice(0, 1000),
                [RETRY_HEADERS.destination]: origin.destination,
                ...(origin.partition === undefined
                  ? {}
                  : { [RETRY_HEADERS.partition]: String(origin.partition) }),
                ...(origin.offset === undefined ? {} : { [RETRY_HEADERS.offset]: origin.offset }),
              },
            },
            attempt,
            reason,
            origin,
            stop,
          ),
      );
    } else {
      // Blocking retry: later records of this key wait behind this one, so their order holds.
      await abortableSleep(retryDelayMs(ctx, disposition.delayMs), stop.signal);
      if (stop.aborted) return false;
      // A deferred retry does not spend the delivery budget: the next delivery keeps the attempt.
      if (!disposition.deferred) attempt += 1;
      continue;
    }
    if (settled) ctx.attempts.delete(attemptKey);
    return settled;
  }
}

/**
 * Tells onError and the subscription's events that the broker refused a copy as too large;
 * returns the broker's reason.
 */
function reportTooLarge(
  ctx: SubscriptionContext,
  topic: string,
  error: unknown,
  action: 'trimmed' | 'dead-lettered',
): string {
  const cause = (error as Error)?.message ?? String(error);
  ctx.options.onError(error);
  ctx.monitor.report({
    kind: 'write-refused',
    subscription: ctx.name,
    topic,
    refusal: 'too-large',
    action,
    message: cause,
  });
  return cause;
}
