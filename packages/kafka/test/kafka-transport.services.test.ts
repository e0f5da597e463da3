// The Kafka transport against real brokers (Kafka 4.x and 3.9): wire format, per-key order
// under concurrency, commands refused, retries, dead letters, bad input, replay and lag.
import {
  CapabilityError,
  createBus,
  defineCommand,
  defineEvent,
  type OutgoingMessage,
  on,
  readDeadLetterReason,
} from '@eda/core';
import { DEAD_LETTER_HEADERS, type Delivery } from '@eda/core/adapter';
import { kafkaMajors } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_DROPPED_HEADER, RETRY_HEADERS } from '../src/index.js';
import { ack, jsonMessage, type Namespace, namespace, sleep, until } from './helpers.js';

describe.each(kafkaMajors)('Kafka %i.x transport', (major) => {
  let ns: Namespace;
  afterEach(async () => {
    await ns?.cleanup();
  });

  it('writes CloudEvents binary-mode records keyed by partition key and delivers them through the bus', async () => {
    ns = namespace(major, 'roundtrip');
    const transport = ns.transport();
    const Placed = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
    const orders = createBus({ service: 'orders', transport });
    const billing = createBus({ service: 'billing', transport });
    const received: { id: string; data: unknown; key?: string | undefined }[] = [];
    await billing.subscribe({
      name: ns.group('billing'),
      handlers: [
        on(Placed, (m) => void received.push({ id: m.id, data: m.data, key: m.partitionkey })),
      ],
    });
    await orders.publish(Placed, { orderId: 'o-1' }, { partitionKey: 'o-1', subject: 'o-1' });
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ data: { orderId: 'o-1' }, key: 'o-1' });

    const [record] = await ns.readTopic(transport.topicFor('order.placed'), 1);
    expect(record?.key).toBe('o-1');
    expect(record?.headers['content-type']).toBe('application/json');
    expect(record?.headers.ce_id).toBe(received[0]?.id);
    expect(record?.headers.ce_type).toBe('order.placed');
    expect(record?.headers.ce_source).toBe('orders');
    expect(record?.headers.ce_specversion).toBe('1.0');
    expect(record?.headers.ce_subject).toBe('o-1');
    expect(JSON.parse(record!.value!.toString('utf8'))).toEqual({ orderId: 'o-1' });
    await orders.close();
    await billing.close();
  });

  it('keeps per-key order while different keys run in parallel inside one partition', async () => {
    ns = namespace(major, 'order');
    const transport = ns.transport({ topics: { partitions: 1 } });
    const type = 'acct.changed';
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const perKey = 25;
    const messages = [];
    for (let n = 0; n < perKey; n++)
      for (const key of keys) messages.push(jsonMessage(type, { key, n }, { partitionkey: key }));
    await transport.publish(messages);

    const seen = new Map<string, number[]>();
    let running = 0;
    let maxRunning = 0;
    let total = 0;
    await transport.subscribe(
      { name: ns.group(), kind: 'event', types: [type], concurrency: 8 },
      async (delivery) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        const { key, n } = JSON.parse(new TextDecoder().decode(delivery.body));
        await sleep(Math.random() * 4);
        seen.set(key, [...(seen.get(key) ?? []), n]);
        total += 1;
        running -= 1;
        return ack;
      },
    );
    await until(
      () => total >= keys.length * perKey,
      () => total,
    );
    expect(total).toBe(keys.length * perKey);
    for (const key of keys)
      expect(seen.get(key)).toEqual(Array.from({ length: perKey }, (_, i) => i));
    // Different keys really ran at once, and never more than the bound.
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(8);
  });

  it('refuses commands with an explanation unless commands are allowed', async () => {
    ns = namespace(major, 'commands');
    const transport = ns.transport();
    expect(transport.capabilities.commands).toBe(false);
    const command = {
      ...jsonMessage('ship.order', {}),
      attributes: { ...jsonMessage('ship.order', {}).attributes, kind: 'command' as const },
    };
    await expect(transport.send([command])).rejects.toThrow(CapabilityError);
    await expect(transport.send([command])).rejects.toThrow(/@eda\/rabbitmq/);
    await expect(
      transport.subscribe(
        { name: ns.group(), kind: 'command', types: ['ship.order'] },
        async () => ack,
      ),
    ).rejects.toThrow(CapabilityError);
    const Ship = defineCommand<{ id: string }>({ type: 'ship.order', owner: 'shipping' });
    const bus = createBus({ service: 'orders', transport });
    await expect(bus.send(Ship, { id: '1' })).rejects.toThrow(CapabilityError);

    const allowing = ns.transport({ commands: 'allow' });
    expect(allowing.capabilities.commands).toBe(true);
    const got: string[] = [];
    await allowing.subscribe(
      { name: ns.group('shipping'), kind: 'command', types: ['ship.order'] },
      async (d) => {
        got.push(d.attributes.id!);
        return ack;
      },
    );
    await allowing.send([command]);
    await until(() => got.length === 1);
    expect(got).toEqual([command.attributes.id]);
  });

  it('retries a failing handler, then writes exactly one dead letter with its reason and origin, and keeps consuming', async () => {
    ns = namespace(major, 'poison');
    const transport = ns.transport({ topics: { partitions: 1 } });
    const Charged = defineEvent<{ n: number }>({ type: 'card.charged', owner: 'billing' });
    const billing = createBus({ service: 'billing', transport });
    const group = ns.group('ledger');
    const ledger = createBus({
      service: 'ledger',
      transport,
      retry: { immediateRetries: 1, maxDeliveries: 3, initialDelayMs: 50, jitter: 0 },
    });
    const attempts: number[] = [];
    const handled: number[] = [];
    await ledger.subscribe({
      name: group,
      handlers: [
        on(Charged, (m, context) => {
          if (m.data.n === 1) {
            attempts.push(context.attempt);
            throw new Error('ledger is read-only');
          }
          handled.push(m.data.n);
        }),
      ],
    });
    await billing.publish(Charged, { n: 1 }, { correlationId: 'corr-1' });
    await billing.publish(Charged, { n: 2 });
    await until(
      () => handled.includes(2),
      () => attempts.length,
    );
    // Two tries per delivery (one immediate retry), three deliveries.
    expect(attempts).toEqual([1, 1, 2, 2, 3, 3]);
    const dead = await ns.readTopic(transport.deadLetterTopicFor(group), 1);
    await sleep(500);
    const again = await ns.readTopic(transport.deadLetterTopicFor(group), 2, 1000);
    expect(again).toHaveLength(1);
    const reason = readDeadLetterReason(dead[0]!.headers);
    expect(reason).toMatchObject({
      code: 'EDA_HANDLER',
      errorType: 'Error',
      message: 'ledger is read-only',
      attempts: 3,
      subscription: group,
      destination: transport.topicFor('card.charged'),
    });
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.partition]).toBe('0');
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.offset]).toBe('0');
    expect(dead[0]!.headers.ce_correlationid).toBe('corr-1');
    expect(JSON.parse(dead[0]!.value!.toString())).toEqual({ n: 1 });
    // Both records are settled, so the group has committed past them.
    await ledger.close();
    const lag = await transport.lag(group, transport.topicFor('card.charged'));
    expect(lag).toEqual([{ partition: 0, committed: '2', end: '2', lag: 0 }]);
  });

  it('dead-letters records that are not valid envelopes at once, with a reason, and keeps running', async () => {
    ns = namespace(major, 'garbage');
    const transport = ns.transport({
      topics: { partitions: 1 },
      consumer: { maxRecordBytes: 64 * 1024 },
    });
    const type = 'sensor.read';
    const topic = transport.topicFor(type);
    await transport.ensureTopics([topic], {
      config: { 'max.message.bytes': String(2 * 1024 * 1024) },
    });
    const group = ns.group('reader');
    const handledIds: string[] = [];
    const bus = createBus({ service: 'reader', transport });
    const Read = defineEvent<{ v: number }>({ type, owner: 'sensors' });
    await bus.subscribe({ name: group, handlers: [on(Read, (m) => void handledIds.push(m.id))] });

    const producer = ns.kafka.producer();
    await producer.connect();
    const good = jsonMessage(type, { v: 1 });
    const header = (m: OutgoingMessage) => ({
      ce_id: m.attributes.id,
      ce_type: type,
      ce_source: 'sensors',
      ce_specversion: '1.0',
    });
    await producer.send({
      topic,
      messages: [
        { value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
        { value: Buffer.from('{"v":1}'), headers: { ce_type: type } },
        {
          value: Buffer.from('{"v":1}'),
          headers: { ...header(good), 'content-type': 'application/x-unknown' },
        },
        {
          value: Buffer.from('{"v":'),
          headers: { ...header(good), 'content-type': 'application/json' },
        },
        {
          value: Buffer.alloc(100 * 1024, 1),
          headers: { ...header(good), 'content-type': 'application/json' },
        },
      ],
    });
    await producer.disconnect();
    await transport.publish([good]);
    await until(() => handledIds.includes(good.attributes.id));
    const dead = await ns.readTopic(transport.deadLetterTopicFor(group), 5);
    expect(dead.map((d) => d.headers[DEAD_LETTER_HEADERS.offset])).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
    ]);
    const codes = dead.map((d) => d.headers[DEAD_LETTER_HEADERS.code]);
    expect(codes).toEqual([
      'EDA_DECODE',
      'EDA_DECODE',
      'EDA_DECODE',
      'EDA_DECODE',
      'EDA_RECORD_TOO_LARGE',
    ]);
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.message]).toMatch(/missing/);
    expect(dead[2]!.headers[DEAD_LETTER_HEADERS.message]).toMatch(/application\/x-unknown/);
    expect(dead[3]!.headers[DEAD_LETTER_HEADERS.message]).toMatch(/not valid application\/json/);
    expect(dead[4]!.headers[BODY_DROPPED_HEADER]).toBe(String(100 * 1024));
    expect(dead[0]!.value).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(handledIds).toEqual([good.attributes.id]);
    await bus.close();
  });

  it('never commits a record that is still being retried: closing mid-retry redelivers it', async () => {
    ns = namespace(major, 'uncommitted');
    const transport = ns.transport({ topics: { partitions: 1 } });
    const type = 'job.queued';
    const topic = transport.topicFor(type);
    const group = ns.group();
    await transport.publish([jsonMessage(type, { n: 1 })]);
    const attempts: number[] = [];
    const first = await transport.subscribe(
      { name: group, kind: 'event', types: [type] },
      async (d) => {
        attempts.push(d.attempt);
        return { type: 'retry', delayMs: 60_000, reason: 'downstream down' };
      },
    );
    await until(() => attempts.length === 1);
    await first.close();
    expect(await transport.lag(group, topic)).toEqual([
      { partition: 0, committed: undefined, end: '1', lag: 1 },
    ]);
    const second = ns.transport();
    const redelivered: Delivery[] = [];
    await second.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
      redelivered.push(d);
      return ack;
    });
    await until(() => redelivered.length === 1);
    expect(redelivered[0]!.origin).toEqual({ destination: topic, partition: 0, offset: '0' });
    await sleep(500);
    expect((await second.lag(group, topic))[0]?.committed).toBe('1');
  });

  it('retries through retry topics with increasing attempts when retry.mode is topics', async () => {
    ns = namespace(major, 'retrytopics');
    const transport = ns.transport({
      retry: { mode: 'topics', tiers: 2 },
      topics: { partitions: 1 },
    });
    const type = 'mail.requested';
    const group = ns.group();
    const deliveries: Delivery[] = [];
    await transport.subscribe({ name: group, kind: 'event', types: [type] }, async (d) => {
      deliveries.push(d);
      if (d.attempt < 3)
        return { type: 'retry', delayMs: 300 * d.attempt, reason: `smtp busy ${d.attempt}` };
      return ack;
    });
    const sent = jsonMessage(type, { to: 'a@b' }, { partitionkey: 'a' });
    const started = Date.now();
    await transport.publish([sent]);
    await until(
      () => deliveries.length === 3,
      () => deliveries.length,
    );
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(deliveries.every((d) => d.attributes.id === sent.attributes.id)).toBe(true);
    // Every delivery names the original topic, so dead letters and logs point to the source.
    expect(deliveries.map((d) => d.origin.destination)).toEqual(
      Array(3).fill(transport.topicFor(type)),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300 + 600);
    const tier1 = await ns.readTopic(transport.retryTopicFor(group, 1), 1);
    expect(tier1[0]!.headers[RETRY_HEADERS.attempt]).toBe('2');
    expect(tier1[0]!.headers[RETRY_HEADERS.reason]).toBe('smtp busy 1');
    expect(tier1[0]!.key).toBe('a');
  });

  it('starts a new group at latest, replays with seek to earliest or a timestamp, and reports lag', async () => {
    ns = namespace(major, 'replay');
    const transport = ns.transport({ topics: { partitions: 2 } });
    const type = 'price.changed';
    const topic = transport.topicFor(type);
    await transport.publish([
      jsonMessage(type, { n: 0 }, { partitionkey: 'a' }),
      jsonMessage(type, { n: 1 }, { partitionkey: 'b' }),
    ]);
    const group = ns.group();
    const got: number[] = [];
    const handler = async (d: Delivery) => {
      got.push(JSON.parse(new TextDecoder().decode(d.body)).n);
      return ack;
    };
    let sub = await transport.subscribe(
      { name: group, kind: 'event', types: [type], startAt: 'latest' },
      handler,
    );
    await sleep(1000);
    const middle = Date.now();
    await sleep(50);
    await transport.publish([jsonMessage(type, { n: 2 }, { partitionkey: 'a' })]);
    await until(() => got.length === 1);
    await sleep(300);
    expect(got).toEqual([2]);
    await sub.close();
    const lag = await transport.lag(group, topic);
    expect(lag.reduce((n, p) => n + p.lag, 0)).toBe(0);
    expect(lag.reduce((n, p) => n + Number(p.end), 0)).toBe(3);

    await transport.seek(group, topic, 'earliest');
    expect((await transport.lag(group, topic)).reduce((n, p) => n + p.lag, 0)).toBe(3);
    got.length = 0;
    sub = await transport.subscribe({ name: group, kind: 'event', types: [type] }, handler);
    await until(() => got.length === 3);
    expect([...got].sort()).toEqual([0, 1, 2]);
    await sub.close();

    await transport.seek(group, topic, { timestamp: middle });
    got.length = 0;
    sub = await transport.subscribe({ name: group, kind: 'event', types: [type] }, handler);
    await until(() => got.length === 1);
    await sleep(300);
    expect(got).toEqual([2]);
    await sub.close();

    const other = ns.transport();
    const busy = await other.subscribe({ name: group, kind: 'event', types: [type] }, handler);
    await expect(transport.seek(group, topic, 'earliest')).rejects.toThrow(
      /Close every subscription/,
    );
    await busy.close();
  });

  it('closes gracefully: in-flight records finish and are committed, nothing is redelivered', async () => {
    ns = namespace(major, 'graceful');
    const transport = ns.transport({ topics: { partitions: 1 } });
    const type = 'doc.indexed';
    const group = ns.group();
    await transport.publish(
      Array.from({ length: 30 }, (_, n) => jsonMessage(type, { n }, { partitionkey: `k${n % 5}` })),
    );
    const done: number[] = [];
    let started = 0;
    const sub = await transport.subscribe(
      { name: group, kind: 'event', types: [type], concurrency: 5 },
      async (d) => {
        started += 1;
        await sleep(100);
        done.push(JSON.parse(new TextDecoder().decode(d.body)).n);
        return ack;
      },
    );
    await until(() => started >= 3);
    await sub.close();
    const finished = done.length;
    expect(finished).toBe(started);
    const again: number[] = [];
    await ns
      .transport()
      .subscribe({ name: group, kind: 'event', types: [type], concurrency: 5 }, async (d) => {
        again.push(JSON.parse(new TextDecoder().decode(d.body)).n);
        return ack;
      });
    await until(
      () => finished + again.length >= 30,
      () => again.length,
    );
    expect(new Set([...done, ...again]).size).toBe(30);
    expect(again.filter((n) => done.includes(n))).toEqual([]);
  });
});
