// One record's way through a subscription: deliver it, then carry out the disposition. Returns
// true only when the record is settled (acked, dead-lettered, or handed to a retry topic), so
// the caller may count it towards the commit point. A record abandoned by a rebalance or close
// returns false and is never committed.
import {
  abortableSleep,
  type DeadLetterReason,
  type Delivery,
  type DeliveryOrigin,
  type Disposition,
  deadLetterHeaders,
  describeError,
} from '@eda/core';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { BatchStop } from './batch-stop.js';
import { bodyOf, headerStrings, readRecordHeaders } from './record-mapping.js';
import { INTERNAL_HEADER_NAMES, RETRY_HEADERS, readRetryState } from './retry-headers.js';
import type { SubscriptionContext } from './subscription-context.js';

/** Header added to a dead letter whose value was left out because it was too large. */
export const BODY_DROPPED_HEADER = 'x-eda-body-dropped-bytes';

function userHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!INTERNAL_HEADER_NAMES.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

/** Key of a record in `ctx.attempts`; built only when a record failed or attempts are remembered. */
function attemptKeyOf(topic: string, partition: number, offset: string): string {
  return `${topic}\u0000${partition}\u0000${offset}`;
}

/** Writes until the broker acknowledges or `stop` aborts; true when written. */
async function writeUntilDone(
  ctx: SubscriptionContext,
  topic: string,
  message: { key: Buffer | null; value: Buffer | null; headers: IHeaders },
  stop: BatchStop,
): Promise<boolean> {
  let backoffMs = 200;
  for (;;) {
    if (stop.aborted) return false;
    try {
      await ctx.writer.write([{ topic, messages: [message] }]);
      return true;
    } catch (error) {
      // The record stays unsettled, so the partition does not commit past it.
      ctx.options.onError(error);
      await abortableSleep(backoffMs, stop.signal);
      backoffMs = Math.min(5000, backoffMs * 2);
    }
  }
}

function deadLetter(
  ctx: SubscriptionContext,
  message: KafkaMessage,
  reason: DeadLetterReason,
  origin: DeliveryOrigin,
  stop: BatchStop,
  dropBody = false,
): Promise<boolean> {
  return writeUntilDone(
    ctx,
    ctx.deadLetterTopic,
    {
      key: message.key,
      value: dropBody ? null : message.value,
      headers: {
        ...userHeaders(message.headers),
        ...deadLetterHeaders(reason, origin),
        ...(dropBody ? { [BODY_DROPPED_HEADER]: String(message.value?.byteLength ?? 0) } : {}),
      },
    },
    stop,
  );
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

  if (retryState && retryState.dueAt > Date.now()) {
    await abortableSleep(retryState.dueAt - Date.now(), stop.signal);
    if (stop.aborted) return false;
  }

  // The attributes read above serve the first delivery; a redelivery gets a fresh copy, so
  // nothing a handler changed in them carries over.
  let attributes: Record<string, string> | undefined = read.attributes;
  for (;;) {
    if (!ctx.slots.tryAcquire()) await ctx.slots.acquire();
    if (stop.aborted) {
      ctx.slots.release();
      return false;
    }
    const delivery: Delivery = {
      attributes: attributes ?? readRecordHeaders(message.headers).attributes,
      body: bodyOf(message),
      attempt,
      origin,
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
      settled = await deadLetter(ctx, message, disposition.reason, origin, stop);
    } else if (ctx.options.retry.mode === 'topics') {
      // A deferred retry (the message waited on something outside it) keeps its attempt.
      const next = disposition.deferred ? attempt : attempt + 1;
      const tier = Math.min(attempt, ctx.retryTopics.length);
      settled = await writeUntilDone(
        ctx,
        ctx.retryTopics[tier - 1]!,
        {
          key: message.key,
          value: message.value,
          headers: {
            ...userHeaders(message.headers),
            [RETRY_HEADERS.attempt]: String(next),
            [RETRY_HEADERS.due]: String(Date.now() + Math.max(0, disposition.delayMs)),
            [RETRY_HEADERS.reason]: disposition.reason.slice(0, 1000),
            [RETRY_HEADERS.destination]: origin.destination,
            ...(origin.partition === undefined
              ? {}
              : { [RETRY_HEADERS.partition]: String(origin.partition) }),
            ...(origin.offset === undefined ? {} : { [RETRY_HEADERS.offset]: origin.offset }),
          },
        },
        stop,
      );
    } else {
      // Blocking retry: later records of this key wait behind this one, so their order holds.
      await abortableSleep(Math.max(0, disposition.delayMs), stop.signal);
      if (stop.aborted) return false;
      // A deferred retry does not spend the delivery budget: the next delivery keeps the attempt.
      if (!disposition.deferred) attempt += 1;
      continue;
    }
    if (settled) ctx.attempts.delete(attemptKey);
    return settled;
  }
}
