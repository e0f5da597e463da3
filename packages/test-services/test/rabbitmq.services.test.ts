// amqplib against RabbitMQ: confirmed publish, consume and ack in unique names, and the
// broker fault hooks.
import type { ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupServices,
  closeRabbitConnections,
  connectRabbit,
  startRabbitApp,
  stopRabbitApp,
  useRabbitNames,
} from '../src/index.js';

afterEach(cleanupServices);

/** Resolves with the error (or undefined) once the connection is closed by the other side. */
function closedBy(connection: ChannelModel): Promise<Error | undefined> {
  connection.on('error', () => {});
  return new Promise((resolve) => connection.once('close', resolve));
}

describe('RabbitMQ with amqplib', () => {
  it('publishes with confirms through an exchange, consumes and acks; cleanup deletes the names', async () => {
    const names = useRabbitNames();
    const exchange = names.exchange('orders');
    const queue = names.queue('orders');
    const connection = await connectRabbit();
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertExchange(exchange, 'direct', { durable: true });
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.bindQueue(queue, exchange, 'created');

      const returned: string[] = [];
      channel.on('return', (m) => returned.push(m.content.toString()));
      for (const n of [1, 2, 3]) {
        channel.publish(exchange, 'created', Buffer.from(`order ${n}`), {
          persistent: true,
          mandatory: true,
        });
      }
      await channel.waitForConfirms();

      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        channel
          .consume(queue, (message) => {
            if (!message) return reject(new Error('consumer cancelled'));
            got.push(message.content.toString());
            channel.ack(message);
            if (got.length === 3) resolve();
          })
          .catch(reject);
      });
      expect(got).toEqual(['order 1', 'order 2', 'order 3']);
      expect(returned).toEqual([]);
      await channel.close();

      // Acked messages are gone from the queue.
      const check = await connection.createChannel();
      expect((await check.checkQueue(queue)).messageCount).toBe(0);
      await check.close();
    } finally {
      await connection.close();
    }

    await names.cleanup();
    const after = await connectRabbit();
    try {
      const channel = await after.createChannel();
      channel.on('error', () => {});
      await expect(channel.checkQueue(queue)).rejects.toThrow(/404/);
    } finally {
      await after.close().catch(() => {});
    }
  });

  it('stopRabbitApp closes connections and refuses new ones; startRabbitApp brings it back', async () => {
    const before = await connectRabbit();
    const closed = closedBy(before);
    try {
      await stopRabbitApp();
      expect(await closed).toBeInstanceOf(Error);
      await expect(connectRabbit()).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await startRabbitApp();
    }
    const connection = await connectRabbit();
    const channel = await connection.createChannel();
    const queue = useRabbitNames().queue('after-start');
    await channel.assertQueue(queue, { exclusive: true });
    channel.sendToQueue(queue, Buffer.from('back'));
    const message = await waitForMessage(() => channel.get(queue, { noAck: true }));
    expect(message.content.toString()).toBe('back');
    await connection.close();
  });

  it('closeRabbitConnections closes open connections; new ones work', async () => {
    const connection = await connectRabbit('eda-test-to-be-closed');
    const closed = closedBy(connection);
    await closeRabbitConnections();
    const reason = await closed;
    expect(reason?.message).toMatch(/CONNECTION_FORCED/);

    const fresh = await connectRabbit();
    const channel = await fresh.createChannel();
    expect((await channel.assertQueue('', { exclusive: true })).queue).toMatch(/^amq\.gen-/);
    await fresh.close();
  });
});

async function waitForMessage<T>(get: () => Promise<T | false>): Promise<T> {
  for (let i = 0; i < 50; i++) {
    const message = await get();
    if (message) return message;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no message arrived');
}
