// When a record read from a retry topic may be delivered. Its `x-eda-retry-due` header is
// trusted only up to `retry.maxDelayMs` from the moment this member first saw the record, so a
// skewed clock or a forged header delays it by at most that much, however often it is fetched.
import type { KafkaMessage } from 'kafkajs';
import { headerStrings } from './record-mapping.js';
import { readRetryState } from './retry-headers.js';
import type { SubscriptionContext } from './subscription-context.js';

function keyOf(topic: string, partition: number, offset: string): string {
  return `${topic}\u0000${partition}\u0000${offset}`;
}

/**
 * Epoch milliseconds at which the record may be delivered (0 for a record that is not a retry).
 * Reports a `retry-wait-capped` event the first time a record's due time lies past the cap.
 */
export function retryDueAt(
  ctx: SubscriptionContext,
  topic: string,
  partition: number,
  message: KafkaMessage,
): number {
  if (!ctx.retryTopics.includes(topic)) return 0;
  const state = readRetryState(headerStrings(message.headers).headers);
  const now = Date.now();
  if (!state || state.dueAt <= now) return 0;
  const key = keyOf(topic, partition, message.offset);
  let latest = ctx.retryDeadlines.get(key);
  if (latest === undefined) {
    latest = now + ctx.options.retry.maxDelayMs;
    ctx.retryDeadlines.set(key, latest);
    if (state.dueAt > latest) {
      ctx.monitor.report({
        kind: 'retry-wait-capped',
        subscription: ctx.name,
        topic,
        partition,
        offset: message.offset,
        requestedMs: state.dueAt - now,
        cappedMs: ctx.options.retry.maxDelayMs,
      });
    }
  }
  return Math.min(state.dueAt, latest);
}

/** Forgets the cap of a record once it has been delivered. */
export function forgetRetryDue(
  ctx: SubscriptionContext,
  topic: string,
  partition: number,
  offset: string,
): void {
  if (ctx.retryDeadlines.size) ctx.retryDeadlines.delete(keyOf(topic, partition, offset));
}
