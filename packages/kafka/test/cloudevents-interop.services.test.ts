// Interoperability with the official CloudEvents SDK (`cloudevents` on npm) on real brokers: our
// records decode as valid CloudEvents with the SDK's Kafka binding, and events the SDK makes, in
// binary and structured mode, reach our handlers with their extensions. Malformed structured
// events and out-of-range attributes are dead-lettered with EDA_DECODE and their reason.

import { ConfigurationError, createBus, defineEvent, on, type ReceivedMessage } from '@eda/core';
import { DEAD_LETTER_HEADERS } from '@eda/core/adapter';
import { kafkaMajors } from '@eda/test-services';
import { CloudEvent, Kafka as CloudEventsKafka, type KafkaMessage } from 'cloudevents';
import type { Message } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Namespace, namespace, until } from './helpers.js';

interface Order {
  readonly orderId: string;
  readonly total: number;
}

/**
 * A kafkajs record from a message of the SDK's Kafka binding. The binding leaves the wire to the
 * transport: it hands JSON data over as an object and lists unset attributes as undefined.
 */
function toKafkaRecord(message: KafkaMessage<unknown>): Message {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers))
    if (value !== undefined) headers[name] = String(value);
  const value = message.value;
  return {
    key: message.key ?? null,
    value: typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value),
    headers,
  };
}

describe.each(kafkaMajors)('CloudEvents SDK interop on Kafka %i.x', (major) => {
  let ns: Namespace;
  afterEach(async () => {
    await ns?.cleanup();
  });

  it('writes records the SDK reads as valid CloudEvents, extensions and partition key included', async () => {
    ns = namespace(major, 'ce-out');
    const transport = ns.transport();
    const Placed = defineEvent<Order>({ type: 'order.placed', owner: 'orders' });
    const bus = createBus({ service: 'orders', transport });
    await bus.publish(
      Placed,
      { orderId: 'o-1', total: 12 },
      { partitionKey: 'o-1', subject: 'o-1', version: 4, extensions: { tenantid: 't-1' } },
    );
    const [record] = await ns.readTopic(transport.topicFor('order.placed'), 1);
    const received = CloudEventsKafka.toEvent({
      headers: record!.headers,
      key: record!.key ?? undefined,
      value: record!.value,
      body: record!.value,
    } as KafkaMessage) as CloudEvent<Order>;
    // The binding reads leniently; a strict copy runs the SDK's full validation (attribute
    // names, extension value types, the JSON schema of the required attributes).
    const strict = received.cloneWith({}, true);
    expect(strict.validate()).toBe(true);
    expect(strict).toMatchObject({
      specversion: '1.0',
      type: 'order.placed',
      source: 'orders',
      subject: 'o-1',
      datacontenttype: 'application/json',
      partitionkey: 'o-1',
      tenantid: 't-1',
      kind: 'event',
      version: '4',
      data: { orderId: 'o-1', total: 12 },
    });
    expect(strict.id).toBe(record!.headers.ce_id);
    expect(strict.correlationid).toBe(strict.id);
    expect(Date.parse(strict.time!)).not.toBeNaN();
    await expect(
      bus.publish(Placed, { orderId: 'o-2', total: 1 }, { extensions: { TenantId: 'x' } }),
    ).rejects.toThrow(ConfigurationError);
    await bus.close();
  });

  it('hands SDK-made events in binary and structured mode to the handler, with their extensions and key', async () => {
    ns = namespace(major, 'ce-in');
    const transport = ns.transport();
    const type = 'com.example.order.placed';
    const Placed = defineEvent<Order>({ type, owner: 'example' });
    const received: ReceivedMessage<Order>[] = [];
    const bus = createBus({ service: 'billing', transport });
    const topic = transport.topicFor(type);
    await transport.ensureTopics([topic]);
    await bus.subscribe({
      name: ns.group('billing'),
      handlers: [on(Placed, (m) => void received.push(m))],
    });
    const made = (id: string, orderId: string) =>
      new CloudEvent<Order>({
        id,
        type,
        source: '/example/shop',
        subject: orderId,
        datacontenttype: 'application/json',
        partitionkey: orderId,
        tenantid: 't-7',
        data: { orderId, total: 3 },
      });
    // A producer may carry the partition key only as the record key, as the binding maps it.
    const keyOnly = toKafkaRecord(CloudEventsKafka.binary(made('sdk-key-only', 'o-k')));
    delete (keyOnly.headers as Record<string, string>).ce_partitionkey;
    const producer = ns.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        toKafkaRecord(CloudEventsKafka.binary(made('sdk-binary', 'o-b'))),
        toKafkaRecord(CloudEventsKafka.structured(made('sdk-structured', 'o-s'))),
        keyOnly,
      ],
    });
    await producer.disconnect();
    await until(() => received.length === 3);
    const byId = new Map(received.map((m) => [m.id, m]));
    for (const [id, orderId] of [
      ['sdk-binary', 'o-b'],
      ['sdk-structured', 'o-s'],
      ['sdk-key-only', 'o-k'],
    ] as const) {
      expect(byId.get(id)).toMatchObject({
        type,
        source: '/example/shop',
        subject: orderId,
        partitionkey: orderId,
        datacontenttype: 'application/json',
        extensions: { tenantid: 't-7' },
        data: { orderId, total: 3 },
      });
    }
    await bus.close();
  });

  it('dead-letters malformed structured events and out-of-range attributes with EDA_DECODE and keeps consuming', async () => {
    ns = namespace(major, 'ce-bad');
    const transport = ns.transport({ topics: { partitions: 1 } });
    const type = 'sensor.read';
    const topic = transport.topicFor(type);
    await transport.ensureTopics([topic]);
    const group = ns.group('reader');
    const handled: string[] = [];
    const bus = createBus({ service: 'reader', transport });
    const Read = defineEvent<{ v: number }>({ type, owner: 'sensors' });
    await bus.subscribe({ name: group, handlers: [on(Read, (m) => void handled.push(m.id))] });
    const structured = (value: string) => ({
      value,
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    });
    const event = { specversion: '1.0', id: 'e', source: '/s', type, data: { v: 1 } };
    const without = (name: keyof typeof event) =>
      JSON.stringify(Object.fromEntries(Object.entries(event).filter(([n]) => n !== name)));
    const binary = (headers: Record<string, string>) => ({
      value: '{"v":1}',
      headers: {
        ce_id: 'b',
        ce_type: type,
        ce_source: '/s',
        ce_specversion: '1.0',
        'content-type': 'application/json',
        ...headers,
      },
    });
    const producer = ns.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        structured('{"specversion":"1.0",'),
        structured(without('specversion')),
        structured(without('id')),
        structured(without('source')),
        structured(without('type')),
        {
          value: JSON.stringify([event]),
          headers: { 'content-type': 'application/cloudevents-batch+json' },
        },
        binary({ ce_version: '2147483648' }),
        binary({ ce_partitionkey: '' }),
        binary({ 'ce_tenant-id': 'x' }),
        structured(JSON.stringify({ ...event, id: 'good' })),
      ],
    });
    await producer.disconnect();
    await until(() => handled.includes('good'));
    const dead = await ns.readTopic(transport.deadLetterTopicFor(group), 9);
    expect(dead.map((d) => d.headers[DEAD_LETTER_HEADERS.code])).toEqual(
      Array(9).fill('EDA_DECODE'),
    );
    expect(dead.map((d) => d.headers[DEAD_LETTER_HEADERS.offset])).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
    ]);
    const reasons = dead.map((d) => d.headers[DEAD_LETTER_HEADERS.message]);
    expect(reasons[0]).toMatch(
      /Structured CloudEvent \(application\/cloudevents\+json\) is not valid JSON/,
    );
    expect(reasons[1]).toMatch(/"specversion" is missing/);
    expect(reasons[2]).toMatch(/"id" is missing/);
    expect(reasons[3]).toMatch(/"source" is missing/);
    expect(reasons[4]).toMatch(/"type" is missing/);
    expect(reasons[5]).toMatch(
      /Batched content mode .* is not supported: send one event per message/,
    );
    expect(reasons[6]).toMatch(/version "2147483648" is invalid: .* 0 to 2147483647/);
    expect(reasons[7]).toMatch(/partitionkey is empty/);
    expect(reasons[8]).toMatch(/"tenant-id" is invalid/);
    // The dead letter keeps the original bytes.
    expect(dead[0]!.value?.toString()).toBe('{"specversion":"1.0",');
    expect(handled).toEqual(['good']);
    await bus.close();
  });
});
