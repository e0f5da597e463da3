// The dead-letter admin against the machine's real RabbitMQ, beyond the transport contract:
// a missing dead-letter queue, handles that survive browsing, identical copies, dead letters the
// broker made itself (x-death), the redriven copy on the wire, and redrives that cannot go out.
import {
  ClosedError,
  ConfigurationError,
  createBus,
  defineCommand,
  UnavailableError,
} from '@eda/core';
import type { Delivery, Disposition } from '@eda/core/adapter';
import { cleanupServices, connectRabbit } from '@eda/test-services';
import type { ChannelModel, GetMessage } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { createRabbitMqDeadLetterAdmin } from '../src/index.js';
import { namespaceOptions, type RabbitNamespace, until, useRabbitNamespace } from './rabbit-env.js';

afterEach(cleanupServices);

const Work = defineCommand<{ n: number }>({ type: 'work.item', owner: 'worker' });

/** A command subscription of `worker` that dead-letters every delivery while `failing` holds. */
async function worker(ns: RabbitNamespace) {
  const transport = ns.transport();
  const state = { failing: true, handled: [] as Delivery[] };
  await transport.subscribe(
    { name: 'worker', kind: 'command', types: [Work.type] },
    async (delivery): Promise<Disposition> => {
      if (!state.failing) {
        state.handled.push(delivery);
        return { type: 'ack' };
      }
      return {
        type: 'dead-letter',
        reason: {
          code: 'EDA_HANDLER',
          errorType: 'Error',
          message: 'broken',
          attempts: delivery.attempt,
          subscription: 'worker',
        },
      };
    },
  );
  const sender = createBus({ service: 'sender', transport: ns.transport() });
  return { state, send: (n: number) => sender.send(Work, { n }) };
}

/** Runs `work` on a raw channel of its own connection, closed afterwards. */
async function withRawChannel<T>(work: (connection: ChannelModel) => Promise<T>): Promise<T> {
  const connection = await connectRabbit('eda-rabbitmq-test-dead-letter-admin');
  try {
    return await work(connection);
  } finally {
    await connection.close();
  }
}

/** Takes one message from `queue` (it must come within the wait), acknowledged. */
async function takeOne(connection: ChannelModel, queue: string): Promise<GetMessage> {
  const channel = await connection.createChannel();
  let got: GetMessage | false = false;
  await until(async () => {
    got = await channel.get(queue, { noAck: true });
    return got !== false;
  });
  await channel.close();
  return got as unknown as GetMessage;
}

describe('rabbitmq dead-letter admin on a real broker', () => {
  it('finds no dead letters where there is no dead-letter queue, and keeps working after the 404', async () => {
    const ns = useRabbitNamespace('dla-missing');
    const admin = ns.deadLetterAdmin();
    expect(await admin.list('nobody')).toEqual([]);
    expect(await admin.get('nobody', 'h')).toBeUndefined();
    expect(await admin.discard('nobody', 'h')).toBe(false);
    expect(await admin.redrive('nobody', { all: true })).toEqual([]);

    const { send } = await worker(ns);
    await send(1);
    await until(async () => (await admin.list('worker')).length === 1);
    // Each browse gives the messages back, which a quorum queue counts (x-delivery-count):
    // the handle and the headers shown stay the same all the same.
    const first = await admin.list('worker');
    const again = await admin.list('worker');
    expect(again).toEqual(first);
    expect(first[0]!.headers['x-delivery-count']).toBeUndefined();
    expect(first[0]!.reason).toMatchObject({ code: 'EDA_HANDLER', attempts: 1 });
    expect(await admin.list('worker', { limit: 0 })).toEqual([]);
  });

  it('lists identical copies of a dead letter once and removes them together; a redriven message that fails again has a new handle', async () => {
    const ns = useRabbitNamespace('dla-copies');
    const admin = ns.deadLetterAdmin();
    const { state, send } = await worker(ns);
    await send(1);
    await until(async () => (await admin.list('worker')).length === 1);
    const deadLetterQueue = `${ns.prefix}.worker.dead-letter`;
    // A dead-letter publish sent again after a lost confirm: the same message twice.
    await withRawChannel(async (connection) => {
      const channel = await connection.createConfirmChannel();
      const message = await channel.get(deadLetterQueue, { noAck: false });
      if (!message) throw new Error('the dead letter is gone');
      const { headers, ...properties } = message.properties;
      channel.sendToQueue(deadLetterQueue, message.content, {
        ...properties,
        headers: Object.fromEntries(
          Object.entries(headers ?? {}).filter(([name]) => name !== 'x-delivery-count'),
        ),
      });
      await channel.waitForConfirms();
      await channel.close(); // gives the original back
    });
    const [original, ...others] = await admin.list('worker');
    expect(others, 'two copies, one dead letter').toEqual([]);

    // Still failing: the redriven copy is dead-lettered again, under a new handle, and the
    // redrive does not take it up again.
    expect((await admin.redrive('worker', { all: true })).map((d) => d.handle)).toEqual([
      original!.handle,
    ]);
    let listed = await admin.list('worker');
    await until(async () => {
      listed = await admin.list('worker');
      return listed.length === 1 && listed[0]!.handle !== original!.handle;
    });
    const [failedAgain] = listed;
    expect(failedAgain!.attributes.id).toBe(original!.attributes.id);
    expect(failedAgain!.headers['x-eda-redrive-of']).toBe(original!.handle);
    expect(await admin.get('worker', original!.handle), 'both copies went').toBeUndefined();

    state.failing = false;
    expect(await admin.redrive('worker', { handles: [failedAgain!.handle] })).toHaveLength(1);
    await until(() => state.handled.length === 1);
    const [delivery] = state.handled;
    expect(delivery!.attributes.id).toBe(original!.attributes.id);
    expect(delivery!.attempt, 'a fresh delivery budget').toBe(1);
    expect(delivery!.header?.('x-eda-redrive-for')).toBe('worker');
    expect(delivery!.header?.('x-eda-redrive-of')).toBe(failedAgain!.handle);
    expect(delivery!.header?.('x-eda-error-code')).toBeUndefined();
    expect(await admin.list('worker')).toEqual([]);
    expect(await admin.discard('worker', failedAgain!.handle)).toBe(false);
  });

  it('lists a message RabbitMQ dead-lettered itself with the queue and reason from x-death, and redrives it to that queue as a clean copy', async () => {
    const ns = useRabbitNamespace('dla-broker');
    const transport = ns.transport();
    const subscription = await transport.subscribe(
      { name: 'audit', kind: 'event', types: ['thing.done'] },
      async () => ({ type: 'ack' }),
    );
    await subscription.close(); // the queue stays, bound, with nobody consuming it
    await transport.publish([
      {
        attributes: {
          id: 'thing-1',
          type: 'thing.done',
          source: 'things',
          specversion: '1.0',
          kind: 'event',
          datacontenttype: 'application/json',
        },
        body: new TextEncoder().encode('{"n":1}'),
      },
    ]);
    const workQueue = `${ns.prefix}.audit.events`;
    // A reject without requeue: RabbitMQ moves it to the dead-letter queue with x-death only.
    await withRawChannel(async (connection) => {
      const channel = await connection.createChannel();
      let message: GetMessage | false = false;
      await until(async () => {
        message = await channel.get(workQueue, { noAck: false });
        return message !== false;
      });
      channel.nack(message as unknown as GetMessage, false, false);
      await channel.close();
    });
    const admin = ns.deadLetterAdmin();
    let listed = await admin.list('audit');
    await until(async () => {
      listed = await admin.list('audit');
      return listed.length === 1;
    });
    const [deadLetter] = listed;
    expect(deadLetter!.reason.code).toBe('EDA_UNKNOWN');
    expect(deadLetter!.reason.message).toContain(`from queue "${workQueue}" (rejected)`);
    expect(deadLetter!.destination, 'the queue it was delivered from').toBe(workQueue);
    expect(Number.isNaN(Date.parse(deadLetter!.failedAt ?? ''))).toBe(false);
    expect(deadLetter!.attributes).toMatchObject({ id: 'thing-1', type: 'thing.done' });

    expect(await admin.redrive('audit', { code: 'EDA_UNKNOWN' })).toEqual([deadLetter]);
    const copy = await withRawChannel((connection) => takeOne(connection, workQueue));
    expect(copy.content.toString()).toBe('{"n":1}');
    expect(copy.properties).toMatchObject({
      messageId: 'thing-1',
      type: 'thing.done',
      contentType: 'application/json',
      deliveryMode: 2,
    });
    const headers = copy.properties.headers ?? {};
    expect(headers).toMatchObject({
      cloudEvents_id: 'thing-1',
      'x-eda-redrive-for': 'audit',
      'x-eda-redrive-of': deadLetter!.handle,
    });
    for (const name of ['x-death', 'x-first-death-queue', 'x-first-death-reason'])
      expect(headers[name], name).toBeUndefined();
    expect(await admin.list('audit')).toEqual([]);
  });

  it('refuses to redrive to a queue the admin does not name for the subscription, and keeps a dead letter whose queue is gone', async () => {
    const ns = useRabbitNamespace('dla-refused');
    const { send } = await worker(ns);
    await send(1);
    const admin = ns.deadLetterAdmin();
    await until(async () => (await admin.list('worker')).length === 1);
    const [deadLetter] = await admin.list('worker');

    // An admin that names command queues differently from the transport.
    const misnamed = createRabbitMqDeadLetterAdmin({
      ...namespaceOptions(ns.prefix),
      queueFor: (type) => `${ns.prefix}.elsewhere.${type}`,
    });
    try {
      await expect(misnamed.redrive('worker', { all: true })).rejects.toThrow(ConfigurationError);
      await expect(misnamed.redrive('worker', { all: true })).rejects.toThrow(
        /came from queue ".*\.work\.item", and this admin names ".*\.elsewhere\.work\.item"/,
      );
    } finally {
      await misnamed.close();
    }
    expect(await admin.list('worker'), 'nothing redriven').toEqual([deadLetter]);

    // A dead letter of a command whose queue does not exist (any more): returned, not lost.
    await withRawChannel(async (connection) => {
      const channel = await connection.createConfirmChannel();
      channel.sendToQueue(`${ns.prefix}.worker.dead-letter`, Buffer.from('{}'), {
        messageId: 'gone-1',
        headers: {
          cloudEvents_id: 'gone-1',
          cloudEvents_type: 'gone.type',
          cloudEvents_kind: 'command',
          'x-eda-error-code': 'EDA_HANDLER',
          'x-eda-original-destination': `${ns.prefix}.gone.type`,
        },
      });
      await channel.waitForConfirms();
      await channel.close();
    });
    const gone = await admin.list('worker', { limit: 2 });
    expect(gone.map((d) => d.attributes.id)).toEqual([deadLetter!.attributes.id, 'gone-1']);
    const failure = admin.redrive('worker', { handles: [gone[1]!.handle] });
    await expect(failure).rejects.toThrow(UnavailableError);
    await expect(failure).rejects.toThrow(
      /to queue ".*\.gone\.type".*It stays in the dead-letter queue/s,
    );
    expect(await admin.list('worker'), 'both still there, in order').toEqual(gone);
  });

  it('rejects bad arguments with a ConfigurationError, and every call after close with ClosedError', async () => {
    expect(() => createRabbitMqDeadLetterAdmin({})).toThrow(ConfigurationError);
    const ns = useRabbitNamespace('dla-arguments');
    const admin = ns.deadLetterAdmin();
    await expect(admin.list('')).rejects.toThrow(/list\(\) needs the subscription name/);
    await expect(admin.list('worker', { limit: -1 })).rejects.toThrow(/limit is -1/);
    await expect(admin.redrive('worker', {} as never)).rejects.toThrow(ConfigurationError);
    await admin.close();
    await expect(admin.list('worker')).rejects.toThrow(ClosedError);
  });
});
