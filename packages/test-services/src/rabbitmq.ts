// RabbitMQ for tests: connections, and unique queue and exchange names deleted afterwards.
import { type ChannelModel, connect } from 'amqplib';
import { type Cleanable, registerCleanup } from './cleanup.js';
import { endpoints } from './endpoints.js';
import { uniqueName } from './unique-name.js';

/**
 * Opens an amqplib connection to `EDA_AMQP_URL`. The caller closes it.
 *
 * @param connectionName - shown by `rabbitmqctl list_connections client_properties`.
 */
export async function connectRabbit(connectionName = 'eda-test-services'): Promise<ChannelModel> {
  return connect(endpoints.amqpUrl, { clientProperties: { connection_name: connectionName } });
}

/** Names made for one test; cleanup deletes the queues and exchanges of those names. */
export interface RabbitNames extends Cleanable {
  /** Returns a new unique queue name; a queue of that name is deleted at cleanup. */
  queue(label?: string): string;
  /** Returns a new unique exchange name; an exchange of that name is deleted at cleanup. */
  exchange(label?: string): string;
}

/**
 * Hands out unique queue and exchange names. Nothing is declared: the test (or the code under
 * test) declares them as it needs; cleanup deletes whichever exist (deleting a missing one is
 * not an error in RabbitMQ).
 *
 * @example
 * afterEach(cleanupServices);
 * const names = useRabbitNames();
 * await channel.assertQueue(names.queue('orders'), { durable: true });
 */
export function useRabbitNames(): RabbitNames {
  const queues: string[] = [];
  const exchanges: string[] = [];
  const cleanable = registerCleanup(async () => {
    if (queues.length === 0 && exchanges.length === 0) return;
    const connection = await connectRabbit('eda-test-services-cleanup');
    try {
      const channel = await connection.createChannel();
      for (const queue of queues) await channel.deleteQueue(queue);
      for (const exchange of exchanges) await channel.deleteExchange(exchange);
    } finally {
      await connection.close();
    }
  });
  return {
    queue(label = 'queue') {
      const name = uniqueName(label);
      queues.push(name);
      return name;
    },
    exchange(label = 'exchange') {
      const name = uniqueName(label);
      exchanges.push(name);
      return name;
    },
    cleanup: cleanable.cleanup,
  };
}
