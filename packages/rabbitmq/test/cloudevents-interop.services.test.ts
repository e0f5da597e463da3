// Interoperability with the official CloudEvents SDK (`cloudevents` on npm) on the real broker.
// The SDK has no AMQP binding; AMQP binary mode is HTTP binary mode with `cloudEvents_` (or
// `cloudEvents:`) application headers in place of `ce-` headers, so the test moves attributes
// between those two header forms, and the SDK's HTTP binding does the reading and writing.

import {
  ConfigurationError,
  createBus,
  DecodeError,
  defineEvent,
  on,
  type ReceivedMessage,
  readDeadLetterReason,
} from '@eda/core';
import { cleanupServices, connectRabbit } from '@eda/test-services';
import type { GetMessage } from 'amqplib';
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { afterEach, describe, expect, it } from 'vitest';
import { until, useRabbitNamespace } from './rabbit-env.js';

afterEach(cleanupServices);

interface Order {
  readonly orderId: string;
  readonly total: number;
}

/** An AMQP message read from the broker as the SDK's HTTP binary-mode message. */
function asHttpMessage(message: GetMessage): Message {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
    const prefix = name.slice(0, 'cloudEvents_'.length);
    if (prefix === 'cloudEvents_' || prefix === 'cloudEvents:')
      headers[`ce-${name.slice(prefix.length)}`] = String(value);
  }
  if (message.properties.contentType) headers['content-type'] = message.properties.contentType;
  return { headers, body: message.content.toString('utf8') };
}

/** AMQP publish options and body of an SDK HTTP message, in binary mode under `prefix`. */
function asAmqp(message: Message, prefix: 'cloudEvents_' | 'cloudEvents:') {
  const headers: Record<string, string> = {};
  let contentType: string | undefined;
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    if (name === 'content-type') contentType = String(value);
    else if (name.startsWith('ce-')) headers[prefix + name.slice(3)] = String(value);
  }
  return {
    body: Buffer.from(String(message.body)),
    options: { headers, ...(contentType === undefined ? {} : { contentType }) },
  };
}

const type = 'com.example.order.placed';
const Placed = defineEvent<Order>({ type, owner: 'example' });

describe('CloudEvents SDK interop on RabbitMQ', () => {
  it('writes messages the SDK reads as valid CloudEvents, extensions included', async () => {
    const ns = useRabbitNamespace('ce-out');
    const bus = createBus({ service: 'example', transport: ns.transport() });
    const raw = await connectRabbit('eda-rabbitmq-test-ce-out');
    try {
      const channel = await raw.createChannel();
      const queue = (await channel.assertQueue('', { exclusive: true })).queue;
      // Declared as the transport declares it (it does so lazily, at its first publish).
      await channel.assertExchange(`${ns.prefix}.events`, 'topic', { durable: true });
      await channel.bindQueue(queue, `${ns.prefix}.events`, type);
      await bus.publish(
        Placed,
        { orderId: 'o-1', total: 12 },
        { subject: 'o-1', partitionKey: 'o-1', version: 4, extensions: { tenantid: 't-1' } },
      );
      const got: GetMessage[] = [];
      await until(async () => {
        const message = await channel.get(queue, { noAck: true });
        if (message) got.push(message);
        return got.length > 0;
      });
      const received = HTTP.toEvent(asHttpMessage(got[0]!)) as CloudEvent<Order>;
      // The binding reads leniently; a strict copy runs the SDK's full validation.
      const strict = received.cloneWith({}, true);
      expect(strict.validate()).toBe(true);
      expect(strict).toMatchObject({
        specversion: '1.0',
        type,
        source: 'example',
        subject: 'o-1',
        datacontenttype: 'application/json',
        partitionkey: 'o-1',
        tenantid: 't-1',
        version: '4',
        data: { orderId: 'o-1', total: 12 },
      });
      expect(strict.id).toBe(got[0]!.properties.messageId);
    } finally {
      await raw.close();
    }
    await expect(
      bus.publish(Placed, { orderId: 'o-2', total: 1 }, { extensions: { id: 'x' } }),
    ).rejects.toThrow(ConfigurationError);
  });

  it('hands SDK-made events to the handler: binary under both prefixes, and structured', async () => {
    const ns = useRabbitNamespace('ce-in');
    const received: ReceivedMessage<Order>[] = [];
    await createBus({ service: 'billing', transport: ns.transport() }).subscribe({
      name: 'billing',
      handlers: [on(Placed, (m) => void received.push(m))],
    });
    const made = (id: string) =>
      new CloudEvent<Order>({
        id,
        type,
        source: '/example/shop',
        subject: id,
        datacontenttype: 'application/json',
        tenantid: 't-7',
        data: { orderId: id, total: 3 },
      });
    const raw = await connectRabbit('eda-rabbitmq-test-ce-in');
    try {
      const channel = await raw.createConfirmChannel();
      const publish = (body: Buffer, options: object) =>
        new Promise<void>((resolve, reject) =>
          channel.publish(`${ns.prefix}.events`, type, body, options, (e) =>
            e ? reject(e) : resolve(),
          ),
        );
      const colon = asAmqp(HTTP.binary(made('binary-colon')), 'cloudEvents:');
      await publish(colon.body, colon.options);
      const underscore = asAmqp(HTTP.binary(made('binary-underscore')), 'cloudEvents_');
      await publish(underscore.body, underscore.options);
      const structured = HTTP.structured(made('structured'));
      await publish(Buffer.from(String(structured.body)), {
        contentType: structured.headers['content-type'],
      });
    } finally {
      await raw.close();
    }
    await until(() => received.length === 3);
    for (const id of ['binary-colon', 'binary-underscore', 'structured']) {
      expect(received.find((m) => m.id === id)).toMatchObject({
        type,
        source: '/example/shop',
        subject: id,
        datacontenttype: 'application/json',
        extensions: { tenantid: 't-7' },
        data: { orderId: id, total: 3 },
      });
    }
  });

  it('dead-letters malformed structured events and out-of-range attributes with EDA_DECODE and keeps consuming', async () => {
    const ns = useRabbitNamespace('ce-bad');
    const handled: string[] = [];
    await createBus({ service: 'billing', transport: ns.transport() }).subscribe({
      name: 'billing',
      handlers: [on(Placed, (m) => void handled.push(m.id))],
    });
    const event = { specversion: '1.0', id: 'e', source: '/s', type, data: { orderId: 'x' } };
    const structured = 'application/cloudevents+json; charset=utf-8';
    const binary = (id: string, extra: Record<string, unknown>) => ({
      'cloudEvents:id': id,
      'cloudEvents:type': type,
      'cloudEvents:source': '/s',
      'cloudEvents:specversion': '1.0',
      ...extra,
    });
    const raw = await connectRabbit('eda-rabbitmq-test-ce-bad');
    try {
      const channel = await raw.createConfirmChannel();
      const publish = (body: string, options: object) =>
        new Promise<void>((resolve, reject) =>
          channel.publish(`${ns.prefix}.events`, type, Buffer.from(body), options, (e) =>
            e ? reject(e) : resolve(),
          ),
        );
      await publish('{"specversion":', { contentType: structured, messageId: 'bad-json' });
      const { id: _id, ...noId } = event;
      await publish(JSON.stringify(noId), { contentType: structured, messageId: 'no-id' });
      await publish(JSON.stringify([event]), {
        contentType: 'application/cloudevents-batch+json',
        messageId: 'batch',
      });
      await publish('{"orderId":"x"}', {
        contentType: 'application/json',
        messageId: 'big-version',
        // A native AMQP long, as the binding maps a CloudEvents Integer.
        headers: binary('big-version', { 'cloudEvents:version': 2 ** 31 }),
      });
      await publish('{"orderId":"x"}', {
        contentType: 'application/json',
        messageId: 'empty-key',
        headers: binary('empty-key', { 'cloudEvents:partitionkey': '' }),
      });
      await publish(JSON.stringify({ ...event, id: 'good' }), { contentType: structured });
    } finally {
      await raw.close();
    }
    await until(() => handled.includes('good'));
    await until(async () => (await ns.deadLetters('billing')).length === 5);
    const deadLetters = await ns.deadLetters('billing');
    const reasons = deadLetters.map((d) => readDeadLetterReason(d.headers)!);
    expect(reasons.map((r) => r.code)).toEqual(Array(5).fill(new DecodeError('x').code));
    expect(reasons.every((r) => r.attempts === 1 && r.subscription === 'billing')).toBe(true);
    const messages = reasons.map((r) => r.message);
    expect(messages[0]).toMatch(/is not valid JSON/);
    expect(messages[1]).toMatch(/"id" is missing/);
    expect(messages[2]).toMatch(/Batched content mode .* is not supported/);
    expect(messages[3]).toMatch(/version "2147483648" is invalid: .* 0 to 2147483647/);
    expect(messages[4]).toMatch(/partitionkey is empty/);
    expect(deadLetters[0]!.body.toString()).toBe('{"specversion":');
    expect(handled).toEqual(['good']);
  });
});
