// Options are checked before anything connects; the message mapping and delay buckets are pure.
import { ConfigurationError, UnavailableError } from '@eda/core';
import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { backoffAfterLoss } from '../src/backoff.js';
import { createRabbitMqTransport, rabbitMqCapabilities } from '../src/index.js';
import { copyOptions, toDelivery, toPublishOptions } from '../src/message-mapping.js';
import { delayBucketFor } from '../src/topology.js';

const url = 'amqp://guest:guest@127.0.0.1:5672';

describe('createRabbitMqTransport options', () => {
  it.each([
    [{}, /give url .* or a connect function/],
    [{ url, connect: async () => undefined as never }, /either url or connect/],
    [{ url, exchange: 'amq.topic' }, /reserved by RabbitMQ/],
    [{ url, queueType: 'stream' }, /queueType "stream" is unknown/],
    [{ url, prefetch: 0 }, /prefetch is 0/],
    [{ url, prefetch: 70_000 }, /at most 65535/],
    [{ url, publishWindow: 1.5 }, /publishWindow is 1.5/],
    [{ url, delayBucketsMs: [] }, /delayBucketsMs is empty/],
    [{ url, delayBucketsMs: [100, -1] }, /delayBucketsMs\[\] is -1/],
    [{ url, reconnect: { jitter: 2 } }, /reconnect.jitter is 2/],
  ])('rejects %j with a ConfigurationError naming the adapter', (options, message) => {
    const attempt = () => createRabbitMqTransport(options as never);
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/^RabbitMQ transport: /);
    expect(attempt).toThrow(message);
  });

  it('connects lazily and claims queue capabilities', async () => {
    const transport = createRabbitMqTransport({ url });
    expect(transport.name).toBe('rabbitmq');
    expect(transport.capabilities).toEqual(rabbitMqCapabilities);
    expect(transport.capabilities).toMatchObject({
      commands: true,
      replay: false,
      orderedPerKey: false,
    });
    expect(transport.names.commandQueue('ship.order')).toBe('ship.order');
    expect(transport.names.subscriptionQueue('billing')).toBe('billing.events');
    expect(transport.names.deadLetterQueue('billing')).toBe('billing.dead-letter');
    expect(transport.names.delayQueues()).toContain('eda.events.delay.1000');
    await transport.close();
  });

  it('rejects a publish at its deadline with the connection error when the broker cannot be reached', async () => {
    const errors: unknown[] = [];
    // Port 1 on loopback refuses at once: nothing listens there.
    const transport = createRabbitMqTransport({
      url: 'amqp://guest:guest@127.0.0.1:1',
      publishTimeoutMs: 300,
      onError: (e) => void errors.push(e),
    });
    const message = {
      attributes: { id: 'm-1', type: 't', source: 's', specversion: '1.0', kind: 'event' },
      body: new Uint8Array(),
    } as const;
    const error = await transport.publish([message]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(
      /within 300 ms .*ECONNREFUSED.*may or may not have been stored/,
    );
    expect(errors.length).toBeGreaterThan(0);
    await transport.close();
  });
});

describe('message mapping', () => {
  const attributes = {
    id: 'id-1',
    type: 'order.placed',
    source: 'orders',
    specversion: '1.0',
    kind: 'event',
    datacontenttype: 'application/json',
    correlationid: 'c-1',
    version: 3,
  } as const;

  const received = (headers: Record<string, unknown>, redelivered = false, contentType?: string) =>
    ({
      content: Buffer.from('{}'),
      fields: { redelivered, deliveryTag: 1, consumerTag: 'c', exchange: '', routingKey: 'q' },
      properties: { headers, contentType },
    }) as unknown as ConsumeMessage;

  it('writes attributes as cloudEvents_ headers, content type as the property, id as message id', () => {
    const options = toPublishOptions({ attributes, body: new Uint8Array() }, true);
    expect(options).toMatchObject({
      persistent: true,
      mandatory: true,
      messageId: 'id-1',
      contentType: 'application/json',
      correlationId: 'c-1',
      headers: { cloudEvents_id: 'id-1', cloudEvents_version: '3', cloudEvents_kind: 'event' },
    });
    expect(options.headers).not.toHaveProperty('cloudEvents_datacontenttype');
  });

  it('reads attributes back, whatever the header value type', () => {
    const delivery = toDelivery(
      received(
        {
          cloudEvents_id: Buffer.from('id-1'),
          cloudEvents_version: 3,
          // Header names are matched case-insensitively, as core's binary mode does.
          CLOUDEVENTS_subject: 's-1',
          other: 'x',
        },
        false,
        'application/json',
      ),
      'q',
    );
    expect(delivery.attributes).toEqual({
      id: 'id-1',
      version: '3',
      subject: 's-1',
      datacontenttype: 'application/json',
    });
    expect(delivery.origin).toEqual({ destination: 'q' });
  });

  it("reads the binding's cloudEvents: prefix as well as cloudEvents_, native values as text", () => {
    const delivery = toDelivery(
      received(
        {
          'cloudEvents:id': 'id-2',
          'cloudEvents:type': 'order.placed',
          'CloudEvents:tenantid': 't-1',
          'cloudEvents:flag': true,
          'cloudEvents-other': 'not an attribute',
        },
        false,
        'application/json',
      ),
      'q',
    );
    expect(delivery.attributes).toEqual({
      id: 'id-2',
      type: 'order.placed',
      tenantid: 't-1',
      flag: 'true',
      datacontenttype: 'application/json',
    });
  });

  it('writes extension attributes as cloudEvents_ headers', () => {
    const options = toPublishOptions(
      { attributes: { ...attributes, extensions: { tenantid: 't-1' } }, body: new Uint8Array() },
      true,
    );
    expect(options.headers).toMatchObject({ cloudEvents_tenantid: 't-1' });
  });

  it('counts every delivery: earlier copies, quorum redeliveries, or the classic redelivered flag', () => {
    expect(toDelivery(received({}), 'q').attempt).toBe(1);
    expect(toDelivery(received({}, true), 'q').attempt).toBe(2);
    expect(toDelivery(received({ 'x-delivery-count': 2 }, true), 'q').attempt).toBe(3);
    expect(toDelivery(received({ 'x-eda-attempt': 3 }), 'q').attempt).toBe(4);
    expect(
      toDelivery(received({ 'x-eda-attempt': 3, 'x-delivery-count': 1 }, true), 'q').attempt,
    ).toBe(5);
    expect(toDelivery(received({ 'x-death': [{ count: 2 }, { count: 1 }] }), 'q').attempt).toBe(4);
    expect(toDelivery(received({ 'x-eda-attempt': 'garbage' }), 'q').attempt).toBe(1);
  });

  it('copies a message without the headers the broker adds on delivery', () => {
    const options = copyOptions(
      received(
        { a: 'b', 'x-delivery-count': 4, 'x-death': [], 'x-first-death-queue': 'q' },
        true,
        'text/plain',
      ),
      { 'x-eda-attempt': 2 },
    );
    expect(options.headers).toEqual({ a: 'b', 'x-eda-attempt': 2 });
    expect(options).toMatchObject({ persistent: true, mandatory: true, contentType: 'text/plain' });
  });
});

describe('delay buckets', () => {
  it('rounds a delay up to the next bucket, and caps it at the longest', () => {
    const buckets = [100, 1000, 5000];
    expect(delayBucketFor(buckets, 1)).toBe(100);
    expect(delayBucketFor(buckets, 100)).toBe(100);
    expect(delayBucketFor(buckets, 101)).toBe(1000);
    expect(delayBucketFor(buckets, 4000)).toBe(5000);
    expect(delayBucketFor(buckets, 60_000)).toBe(5000);
  });

  it('rounds a deferred delay down, so a wait for a claim is never longer than asked (the shortest below it)', () => {
    const buckets = [100, 1000, 5000];
    expect(delayBucketFor(buckets, 1, 'down')).toBe(100);
    expect(delayBucketFor(buckets, 999, 'down')).toBe(100);
    expect(delayBucketFor(buckets, 1000, 'down')).toBe(1000);
    expect(delayBucketFor(buckets, 4999, 'down')).toBe(1000);
    expect(delayBucketFor(buckets, 72_000, 'down')).toBe(5000);
  });
});

describe('reconnect backoff', () => {
  it('reopens at once after a stable connection, and backs off after a short-lived one', async () => {
    const backoff = { initialDelayMs: 20, maxDelayMs: 40, multiplier: 2, jitter: 0 };
    const signal = new AbortController().signal;
    let started = Date.now();
    expect(await backoffAfterLoss(backoff, started - 5000, 4, signal)).toBe(0);
    expect(Date.now() - started).toBeLessThan(20);
    started = Date.now();
    expect(await backoffAfterLoss(backoff, started, 4, signal)).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });
});
