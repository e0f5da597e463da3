// What the transport declares on the broker, and the names it uses. Every declaration is
// idempotent (assert* with the same arguments), so it is repeated after each reconnect.
import type { Channel } from 'amqplib';
import type { QueueType } from './options.js';

/** Arguments shared by every queue the transport declares. */
function typeArguments(queueType: QueueType): Record<string, unknown> {
  return { 'x-queue-type': queueType };
}

/** The topic exchange events go to, routed by event type. */
export async function declareEventsExchange(channel: Channel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
}

/**
 * A work queue (a command's owning queue or an event subscription's queue). Messages the broker
 * itself dead-letters (for example after a user policy's delivery limit) go to the
 * subscription's dead-letter queue. The dead-letter routing key also marks the owner: RabbitMQ
 * refuses a second declaration with a different one (PRECONDITION_FAILED), which is how a second
 * owner of a command queue is detected.
 */
export async function declareWorkQueue(
  channel: Channel,
  queue: string,
  deadLetterQueue: string,
  queueType: QueueType,
): Promise<void> {
  await channel.assertQueue(queue, {
    durable: true,
    arguments: {
      ...typeArguments(queueType),
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueue,
    },
  });
}

/** A subscription's dead-letter queue: kept until someone reads it. */
export async function declareDeadLetterQueue(
  channel: Channel,
  queue: string,
  queueType: QueueType,
): Promise<void> {
  await channel.assertQueue(queue, { durable: true, arguments: typeArguments(queueType) });
}

/** Name of the exchange and the holding queue of one delay bucket. */
export function delayQueueName(exchange: string, bucketMs: number): string {
  return `${exchange}.delay.${bucketMs}`;
}

/** The bucket a retry delay is rounded up to (the longest bucket when it is longer still), or down for a deferred retry. */
export function delayBucketFor(
  bucketsMs: readonly number[],
  delayMs: number,
  round: 'up' | 'down' = 'up',
): number {
  if (round === 'down') {
    // A deferred retry waits for another consumer's claim: coming back early only defers it
    // again (for the time left), coming back late delays the message for nothing. Below the
    // shortest bucket the shortest is the nearest.
    let chosen = bucketsMs[0]!;
    for (const bucket of bucketsMs) if (bucket <= delayMs) chosen = bucket;
    return chosen;
  }
  for (const bucket of bucketsMs) if (bucket >= delayMs) return bucket;
  return bucketsMs[bucketsMs.length - 1]!;
}

/**
 * One delay bucket: a fanout exchange into a holding queue whose messages expire after the
 * bucket's delay and are dead-lettered to the default exchange with their original routing
 * key, which is the work queue they came from. One fixed TTL per queue keeps the queue in
 * expiry order, so a message never waits behind a longer one. Quorum holding queues use
 * at-least-once dead-lettering (which RabbitMQ allows only with `reject-publish` overflow), so a
 * broker crash during the move back cannot lose the message.
 */
export async function declareDelayBucket(
  channel: Channel,
  exchange: string,
  bucketMs: number,
  queueType: QueueType,
): Promise<string> {
  const name = delayQueueName(exchange, bucketMs);
  await channel.assertExchange(name, 'fanout', { durable: true });
  await channel.assertQueue(name, {
    durable: true,
    arguments: {
      ...typeArguments(queueType),
      'x-message-ttl': bucketMs,
      'x-dead-letter-exchange': '',
      ...(queueType === 'quorum'
        ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
        : {}),
    },
  });
  await channel.bindQueue(name, name, '');
  return name;
}
