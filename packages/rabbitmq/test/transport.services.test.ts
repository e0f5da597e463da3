// The transport against the machine's real RabbitMQ: topology, routing, confirms and returns,
// ownership, competing consumers, delayed retries, dead letters and bad input.
import {
  ConfigurationError,
  createBus,
  DecodeError,
  defineCommand,
  defineEvent,
  on,
  readDeadLetterReason,
} from '@eda/core';
import type { Delivery, Disposition } from '@eda/core/adapter';
import { cleanupServices, connectRabbit, uniqueName } from '@eda/test-services';
import type { GetMessage } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { UnroutableMessageError } from '../src/index.js';
import { until, useRabbitNamespace } from './rabbit-env.js';

afterEach(cleanupServices);

describe('rabbitmq transport on a real broker', () => {
  it('carries an event to every subscription with attributes, body and AMQP properties intact', async () => {
    const ns = useRabbitNamespace('roundtrip');
    const transport = ns.transport();
    const Placed = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
    const orders = createBus({ service: 'orders', transport });
    const seen: Record<string, Delivery[]> = { billing: [], shipping: [] };
    for (const name of ['billing', 'shipping'])
      await transport.subscribe({ name, kind: 'event', types: ['order.placed'] }, async (d) => {
        seen[name]!.push(d);
        return { type: 'ack' };
      });
    await orders.publish(Placed, { orderId: 'o-1' }, { subject: 'o-1', partitionKey: 'o-1' });
    await until(() => seen.billing!.length === 1 && seen.shipping!.length === 1);
    for (const delivery of [seen.billing![0]!, seen.shipping![0]!]) {
      expect(JSON.parse(Buffer.from(delivery.body).toString())).toEqual({ orderId: 'o-1' });
      expect(delivery.attempt).toBe(1);
      expect(delivery.attributes).toMatchObject({
        type: 'order.placed',
        source: 'orders',
        specversion: '1.0',
        kind: 'event',
        subject: 'o-1',
        partitionkey: 'o-1',
        datacontenttype: 'application/json',
      });
      expect(delivery.attributes.correlationid).toBe(delivery.attributes.id);
      expect(delivery.attributes.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    }
    expect(seen.billing![0]!.origin.destination).toBe(`${ns.prefix}.billing.events`);

    // The wire form, read with a raw client: persistent, id as message-id, prefixed headers.
    const raw = await connectRabbit('eda-rabbitmq-test-raw');
    try {
      const channel = await raw.createChannel();
      const queue = (await channel.assertQueue('', { exclusive: true })).queue;
      await channel.bindQueue(queue, `${ns.prefix}.events`, 'order.placed');
      await orders.publish(Placed, { orderId: 'o-2' });
      const got: GetMessage[] = [];
      await until(async () => {
        const message = await channel.get(queue, { noAck: true });
        if (message) got.push(message);
        return got.length > 0;
      });
      const { properties } = got[0]!;
      expect(properties.deliveryMode).toBe(2);
      expect(properties.contentType).toBe('application/json');
      expect(properties.headers?.cloudEvents_id).toBe(properties.messageId);
      expect(properties.headers?.cloudEvents_source).toBe('orders');
      expect(properties.headers?.cloudEvents_datacontenttype).toBeUndefined();
    } finally {
      await raw.close();
    }
  });

  it('accepts an event nobody subscribed to, and refuses it with mandatoryEvents', async () => {
    const ns = useRabbitNamespace('nobody');
    const Noted = defineEvent<{ n: number }>({ type: 'thing.noted', owner: 'things' });
    await createBus({ service: 'things', transport: ns.transport() }).publish(Noted, { n: 1 });
    const strict = createBus({
      service: 'things',
      transport: ns.transport({ mandatoryEvents: true }),
    });
    await expect(strict.publish(Noted, { n: 2 })).rejects.toBeInstanceOf(UnroutableMessageError);
  });

  it('refuses a command whose owning queue does not exist yet, then delivers once the owner subscribed', async () => {
    const ns = useRabbitNamespace('unroutable');
    const transport = ns.transport();
    const Ship = defineCommand<{ orderId: string }>({ type: 'ship.order', owner: 'shipping' });
    const orders = createBus({ service: 'orders', transport });
    const error = await orders.send(Ship, { orderId: 'o-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnroutableMessageError);
    expect((error as UnroutableMessageError).routingKey).toBe(`${ns.prefix}.ship.order`);
    expect((error as Error).message).toMatch(/owning service's subscription/);

    const shipped: string[] = [];
    await createBus({ service: 'shipping', transport: ns.transport() }).subscribe({
      handlers: [on(Ship, (m) => void shipped.push(m.data.orderId))],
    });
    await orders.send(Ship, { orderId: 'o-2' });
    await until(() => shipped.length === 1);
    expect(shipped).toEqual(['o-2']);
  });

  it('gives a command queue one owner: a second service subscribing gets a ConfigurationError naming both', async () => {
    const ns = useRabbitNamespace('owner');
    const owner = uniqueName('shipping');
    const intruder = uniqueName('billing');
    // Default dead-letter naming, so the error can name the other owner.
    const options = { deadLetterQueueFor: (name: string) => `${name}.dead-letter` };
    const ack = async (): Promise<Disposition> => ({ type: 'ack' });
    const first = ns.transport(options);
    await first.subscribe({ name: owner, kind: 'command', types: ['ship.order'] }, ack);
    const second = ns.transport(options);
    const error = await second
      .subscribe({ name: intruder, kind: 'command', types: ['ship.order'] }, ack)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`"${owner}"`);
    expect((error as Error).message).toContain(`"${intruder}"`);
    // The same owner on another instance is a competing consumer, not a conflict.
    await second.subscribe({ name: owner, kind: 'command', types: ['ship.order'] }, ack);
    const admin = await connectRabbit('eda-rabbitmq-test-cleanup');
    const channel = await admin.createChannel();
    for (const name of [owner, intruder]) await channel.deleteQueue(`${name}.dead-letter`);
    await admin.close();
  });

  it('shares a command queue between competing consumers: each command handled by exactly one', async () => {
    const ns = useRabbitNamespace('competing');
    const Work = defineCommand<{ n: number }>({ type: 'do.work', owner: 'workers' });
    const handledBy = new Map<number, string[]>();
    for (const member of ['a', 'b']) {
      const bus = createBus({ service: 'workers', transport: ns.transport() });
      await bus.subscribe({
        concurrency: 4,
        handlers: [
          on(Work, async (m) => {
            await new Promise((resolve) => setTimeout(resolve, 2));
            handledBy.set(m.data.n, [...(handledBy.get(m.data.n) ?? []), member]);
          }),
        ],
      });
    }
    const sender = createBus({ service: 'client', transport: ns.transport() });
    const count = 300;
    await Promise.all(Array.from({ length: count }, (_, n) => sender.send(Work, { n })));
    await until(() => handledBy.size === count, { progress: () => handledBy.size });
    const members = [...handledBy.values()];
    expect(members.every((list) => list.length === 1)).toBe(true);
    expect(members.filter(([m]) => m === 'a').length).toBeGreaterThan(0);
    expect(members.filter(([m]) => m === 'b').length).toBeGreaterThan(0);
    expect(await ns.depth(`${ns.prefix}.do.work`)).toBe(0);
  });

  it('retries a failing handler after the configured delays, then dead-letters it exactly once with reason and correlation id', async () => {
    const ns = useRabbitNamespace('retries');
    const Charge = defineCommand<{ card: string }>({ type: 'charge.card', owner: 'payments' });
    const delays = [300, 600, 1200];
    const transport = ns.transport({ delayBucketsMs: delays });
    const payments = createBus({
      service: 'payments',
      transport,
      retry: {
        immediateRetries: 1,
        maxDeliveries: 4,
        initialDelayMs: 300,
        multiplier: 2,
        jitter: 0,
      },
    });
    const calls: { attempt: number; at: number; id: string }[] = [];
    let sentinel = false;
    await payments.subscribe({
      handlers: [
        on(Charge, (m, context) => {
          if (m.data.card === 'sentinel') {
            sentinel = true;
            return;
          }
          calls.push({ attempt: context.attempt, at: Date.now(), id: m.id });
          throw new Error('card declined');
        }),
      ],
    });
    const sender = createBus({ service: 'checkout', transport: ns.transport() });
    await sender.send(Charge, { card: '4242' }, { correlationId: 'flow-7' });
    await until(async () => (await ns.deadLetters('payments')).length >= 1, {
      progress: () => calls.length,
    });
    // One delivery = first try + 1 immediate retry; 4 deliveries in all.
    expect(calls.map((c) => c.attempt)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    const firstOf = (attempt: number) => calls.find((c) => c.attempt === attempt)!.at;
    const lastOf = (attempt: number) => calls.findLast((c) => c.attempt === attempt)!.at;
    for (const [i, delay] of delays.entries()) {
      // Never sooner than the configured delay (the holding queue's TTL).
      expect(firstOf(i + 2) - lastOf(i + 1)).toBeGreaterThanOrEqual(delay - 5);
    }
    // A sentinel sent after the failure went through proves nothing else is still on its way.
    await sender.send(Charge, { card: 'sentinel' });
    await until(() => sentinel);
    const deadLetters = await ns.deadLetters('payments');
    expect(deadLetters).toHaveLength(1);
    const [dead] = deadLetters;
    const reason = readDeadLetterReason(dead!.headers);
    expect(reason).toMatchObject({
      code: 'EDA_HANDLER',
      errorType: 'Error',
      message: 'card declined',
      attempts: 4,
      subscription: 'payments',
      destination: `${ns.prefix}.charge.card`,
    });
    expect(dead!.attributes.correlationid).toBe('flow-7');
    expect(dead!.attributes.id).toBe(calls[0]!.id);
    expect(JSON.parse(dead!.body.toString())).toEqual({ card: '4242' });
    expect(calls).toHaveLength(8);
  });

  it('dead-letters garbage bodies, missing headers and unknown content types at once, and keeps consuming', async () => {
    const ns = useRabbitNamespace('bad-input');
    const Ship = defineCommand<{ orderId: string }>({ type: 'ship.order', owner: 'shipping' });
    const shipped: string[] = [];
    await createBus({ service: 'shipping', transport: ns.transport() }).subscribe({
      handlers: [on(Ship, (m) => void shipped.push(m.data.orderId))],
    });
    const queue = `${ns.prefix}.ship.order`;
    const headers = (id: string) => ({
      cloudEvents_id: id,
      cloudEvents_type: 'ship.order',
      cloudEvents_source: 'orders',
      cloudEvents_specversion: '1.0',
      cloudEvents_kind: 'command',
    });
    const raw = await connectRabbit('eda-rabbitmq-test-bad-input');
    try {
      const channel = await raw.createConfirmChannel();
      const send = (body: string, options: object) =>
        new Promise<void>((resolve, reject) =>
          channel.sendToQueue(queue, Buffer.from(body), options, (e) =>
            e ? reject(e) : resolve(),
          ),
        );
      await send('{not json', {
        contentType: 'application/json',
        messageId: 'g',
        headers: headers('garbage'),
      });
      await send('{"orderId":"x"}', { messageId: 'h' });
      await send('<order/>', {
        contentType: 'application/xml',
        messageId: 'c',
        headers: headers('xml'),
      });
      await send('{"orderId":"x"}', {
        contentType: 'application/json',
        headers: {
          ...headers('odd-attempt'),
          'x-eda-attempt': 'abc',
          cloudEvents_specversion: '0.3',
        },
      });
    } finally {
      await raw.close();
    }
    await until(async () => (await ns.deadLetters('shipping')).length === 4);
    // The consumer is still running: a valid command after the bad ones is handled.
    await createBus({ service: 'orders', transport: ns.transport() }).send(Ship, { orderId: 'ok' });
    await until(() => shipped.includes('ok'));
    const deadLetters = await ns.deadLetters('shipping');
    const reasons = deadLetters.map((d) => readDeadLetterReason(d.headers)!);
    expect(reasons.map((r) => r.code)).toEqual(Array(4).fill(new DecodeError('x').code));
    expect(reasons.every((r) => r.attempts === 1 && r.subscription === 'shipping')).toBe(true);
    const byId = new Map(deadLetters.map((d, i) => [d.attributes.id ?? 'none', reasons[i]!]));
    expect(byId.get('garbage')!.message).toMatch(/not valid application\/json/);
    expect(byId.get('none')!.message).toMatch(/"id" is missing/);
    expect(byId.get('xml')!.message).toMatch(/No codec for content type "application\/xml"/);
    expect(byId.get('odd-attempt')!.message).toMatch(/specversion "0.3"/);
    expect(deadLetters.find((d) => d.attributes.id === 'garbage')!.body.toString()).toBe(
      '{not json',
    );
    expect(shipped).toEqual(['ok']);
  });

  it('declares a delay bucket again when it was deleted, and loses no message meanwhile', async () => {
    const ns = useRabbitNamespace('deleted-bucket');
    const errors: unknown[] = [];
    const transport = ns.transport({
      delayBucketsMs: [200],
      publishTimeoutMs: 2000,
      onError: (e) => void errors.push(e),
    });
    const holding = transport.names.delayQueues()[0]!;
    const Task = defineCommand<{ n: number }>({ type: 'task.run', owner: 'runner' });
    const attempts: number[] = [];
    const admin = await connectRabbit('eda-rabbitmq-test-delete-bucket');
    try {
      await createBus({
        service: 'runner',
        transport,
        retry: { immediateRetries: 0, maxDeliveries: 10, initialDelayMs: 200, jitter: 0 },
      }).subscribe({
        handlers: [
          on(Task, async (_m, context) => {
            attempts.push(context.attempt);
            if (context.attempt === 2) {
              // An operator removes the holding queue and exchange while nothing is in them.
              const channel = await admin.createChannel();
              await channel.deleteQueue(holding);
              await channel.deleteExchange(holding);
              await channel.close();
            }
            if (context.attempt < 4) throw new Error(`not yet (${context.attempt})`);
          }),
        ],
      });
      await createBus({ service: 'client', transport }).send(Task, { n: 1 });
      await until(() => attempts.includes(4), { progress: () => attempts.length });
    } finally {
      await admin.close();
    }
    // Attempt 2's retry could not be published: it was requeued (attempt 3), then re-declared.
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(errors.some((e) => /could not schedule the retry/.test((e as Error).message))).toBe(
      true,
    );
    expect(await ns.deadLetters('runner')).toHaveLength(0);
  });
});
