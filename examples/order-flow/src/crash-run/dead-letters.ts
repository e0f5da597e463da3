// Dead letters of a run, counted where they would be: the Kafka dead-letter topic of every
// event subscription, the RabbitMQ dead-letter queue of the command's owner, and the outbox's
// dead records.
import type { KafkaTransport } from '@eda/kafka';
import type { RabbitMqTransport } from '@eda/rabbitmq';
import { connectRabbit } from '@eda/test-services';
import type { ConsumerSpec } from '../system-idle.js';

export interface DeadLetterCounts {
  /** Records per dead-letter topic / queue. */
  readonly byPlace: Readonly<Record<string, number>>;
  readonly total: number;
}

/** Counts the dead letters of `consumers` (a group that never commits reads every record as lag). */
export async function countDeadLetters(
  events: KafkaTransport,
  commands: RabbitMqTransport,
  consumers: readonly ConsumerSpec[],
): Promise<DeadLetterCounts> {
  const byPlace: Record<string, number> = {};
  for (const consumer of consumers.filter((c) => c.kind === 'event')) {
    const topic = events.deadLetterTopicFor(consumer.name);
    const lag = await events.lag('eda-crash-run-dead-letter-count', topic);
    byPlace[topic] = lag.reduce((sum, p) => sum + p.lag, 0);
  }
  const rabbit = await connectRabbit('eda-crash-run-dead-letter-count');
  try {
    for (const consumer of consumers.filter((c) => c.kind === 'command')) {
      const queue = commands.names.deadLetterQueue(consumer.name);
      const channel = await rabbit.createChannel();
      channel.on('error', () => undefined); // a missing queue closes the channel: counted as 0
      byPlace[queue] = await channel
        .checkQueue(queue)
        .then((q) => q.messageCount)
        .catch((error: { code?: number }) => {
          if (error.code === 404) return 0;
          throw error;
        });
      await channel.close().catch(() => undefined);
    }
  } finally {
    await rabbit.close();
  }
  return { byPlace, total: Object.values(byPlace).reduce((a, b) => a + b, 0) };
}
