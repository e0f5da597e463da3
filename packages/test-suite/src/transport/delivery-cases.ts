// Transport cases about plain delivery: attributes and bytes intact, nothing lost, each message
// once, work shared between competing consumers, every consumer group served, types kept apart,
// and per-key order.
import {
  bytesCodec,
  createCodecs,
  type EnvelopeAttributes,
  jsonCodec,
  type MessageKind,
  type OutgoingMessage,
  on,
  type ReceivedMessage,
} from '@eda/core';
import { abortableSleep as pause, uuidv7 } from '@eda/core/adapter';
import { expect } from 'vitest';
import { assertSameBytes, everyByteValue } from '../bytes.js';
import { createInbox, type Inbox } from '../inbox.js';
import {
  aNounOf,
  capabilityOf,
  createChannel,
  emit,
  emitRaw,
  inBatches,
  nounOf,
} from './channel.js';
import type { TransportCase, TransportCaseContext } from './transport-setup.js';

/** Data of most cases: a sequence number and the partition key it was sent with. */
export interface Numbered {
  readonly n: number;
  readonly key?: string;
}

/** What a handler saw. */
export interface Seen {
  readonly n: number;
  readonly key: string | undefined;
  readonly attempt: number;
  /** Which of several consumers handled it. */
  readonly member: number;
}

/** Counts of each `n`. */
export function countBy(seen: readonly { n: number }[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const { n } of seen) counts.set(n, (counts.get(n) ?? 0) + 1);
  return counts;
}

/** Asserts that each of `expected` was seen exactly once and nothing else was seen. */
export function expectEachOnce(
  seen: readonly { n: number }[],
  expected: readonly number[],
  what: string,
): void {
  const counts = countBy(seen);
  const missing = expected.filter((n) => !counts.has(n));
  const duplicated = [...counts]
    .filter(([, count]) => count > 1)
    .map(([n, count]) => `${n} x${count}`);
  const wanted = new Set(expected);
  const unexpected = [...counts.keys()].filter((n) => !wanted.has(n));
  expect(
    { missing, duplicated, unexpected },
    `${what}: every message exactly once (${seen.length} deliveries handled)`,
  ).toEqual({ missing: [], duplicated: [], unexpected: [] });
}

/** Describes which of `expected` have not been seen yet, for wait failures. */
export function describeMissing(
  seen: readonly { n: number }[],
  expected: readonly number[],
): string {
  const counts = countBy(seen);
  const missing = expected.filter((n) => !counts.has(n));
  return `${expected.length} messages (${missing.length} missing, such as ${missing.slice(0, 5).join(', ') || 'none'})`;
}

/** `count` consecutive numbers from `from`. */
export const range = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => from + i);

/**
 * Emits one sentinel per key after everything else and waits for all of them: on a transport
 * that orders per key, anything emitted before (or redelivered before) has arrived by then.
 */
export async function flushWithSentinels(
  context: TransportCaseContext,
  send: (n: number, key: string) => Promise<void>,
  seen: Inbox<{ readonly n: number }>,
  keys: readonly string[],
): Promise<void> {
  const sentinels = keys.map((_, i) => -1 - i);
  for (const [i, key] of keys.entries()) await send(sentinels[i]!, key);
  await seen.until((items) => sentinels.every((s) => items.some((item) => item.n === s)), {
    idleMs: context.idleMs,
    description: `${keys.length} sentinel messages`,
  });
}

function attributesOfReceived(message: ReceivedMessage<unknown>): EnvelopeAttributes {
  const { data: _data, ...attributes } = message;
  return attributes;
}

/** Round trip: data and every attribute intact, through the bus and through a raw message. */
export function roundTripCase(kind: MessageKind): TransportCase {
  return {
    name: `round trip: ${aNounOf(kind)} keeps its data and every envelope attribute`,
    requires: [capabilityOf(kind)],
    async run(context) {
      interface Order {
        orderId: string;
        total: number;
        lines: { sku: string; qty: number }[];
        flags: (boolean | null)[];
      }
      const client = await context.connect();
      const channel = createChannel<Order>(context, kind, 'round-trip');
      const sent: OutgoingMessage[] = [];
      const producer = context.bus({
        service: channel.producer,
        transport: client,
        publishMiddleware: [
          async (message) => {
            sent.push(message);
            return message;
          },
        ],
      });
      const consumer = context.bus({ service: channel.consumer, transport: client });
      const inbox = createInbox<ReceivedMessage<Order>>();
      await consumer.subscribe({ handlers: [on(channel.definition, (m) => inbox.push(m))] });

      const data: Order = {
        orderId: 'order-42',
        total: 1234.5,
        lines: [{ sku: 'SKU-1', qty: 2 }],
        flags: [true, false, null],
      };
      const id = uuidv7();
      await emit(producer, channel.definition, data, {
        id,
        partitionKey: 'order-42',
        subject: 'orders/42',
        version: 7,
        correlationId: `corr-${id}`,
      });
      const rawData: Order = { orderId: 'order-43', total: 0, lines: [], flags: [] };
      const raw: OutgoingMessage = {
        attributes: {
          id: uuidv7(),
          type: channel.definition.type,
          source: channel.producer,
          specversion: '1.0',
          time: '2024-02-29T23:59:59.123Z',
          subject: 'orders/43',
          datacontenttype: 'application/json; charset=utf-8',
          dataschema: channel.definition.dataschema,
          kind,
          correlationid: 'workflow-7',
          causationid: 'cause-7',
          partitionkey: 'order-43',
          version: 3,
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          tracestate: 'vendor=opaque,other=1',
        },
        body: jsonCodec.encode(rawData),
      };
      await emitRaw(client, kind, [raw]);
      await inbox.until((items) => items.length >= 2, {
        idleMs: context.idleMs,
        description: 'both messages',
      });

      const viaBus = inbox.items.find((m) => m.id === id);
      const viaRaw = inbox.items.find((m) => m.id === raw.attributes.id);
      expect(viaBus?.data, 'data sent through the bus').toEqual(data);
      expect(attributesOfReceived(viaBus!), 'attributes written by the bus').toEqual(
        sent[0]!.attributes,
      );
      expect(viaBus).toMatchObject({
        type: channel.definition.type,
        source: channel.producer,
        subject: 'orders/42',
        partitionkey: 'order-42',
        correlationid: `corr-${id}`,
        version: 7,
        datacontenttype: 'application/json',
        kind,
      });
      expect(viaBus?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
      expect(viaRaw?.data, 'data of the raw message').toEqual(rawData);
      expect(attributesOfReceived(viaRaw!), 'every attribute of the raw message').toEqual(
        raw.attributes,
      );
      expect(inbox.items, 'each message once').toHaveLength(2);
    },
  };
}

/** Binary data (octet-stream) and unicode JSON arrive exactly as sent. */
export function binaryDataCase(kind: MessageKind): TransportCase {
  return {
    name: `binary data: ${aNounOf(kind)}'s octet-stream bytes and unicode JSON arrive exact`,
    requires: [capabilityOf(kind)],
    async run(context) {
      const client = await context.connect();
      const producerName = context.name('producer');
      const consumerName = context.name('consumer');
      const roles = { producer: producerName, consumer: consumerName };
      const binary = createChannel<Uint8Array>(context, kind, 'binary', roles);
      const text = createChannel<{ text: string; keys: Record<string, string> }>(
        context,
        kind,
        'unicode',
        roles,
      );
      const bytesProducer = context.bus({
        service: producerName,
        transport: client,
        codecs: createCodecs([bytesCodec, jsonCodec]),
      });
      const jsonProducer = context.bus({ service: producerName, transport: client });
      const consumer = context.bus({ service: consumerName, transport: client });
      const received = createInbox<ReceivedMessage<unknown>>();
      await consumer.subscribe({
        handlers: [
          on(binary.definition, (m) => received.push(m)),
          on(text.definition, (m) => received.push(m)),
        ],
      });
      const bytes = everyByteValue(64 * 1024);
      const expectedBytes = bytes.slice();
      const unicode = {
        text: 'héllo wörld 👋🏽 世界 שלום \u0000 \u2028\u2029 e\u0301 \ud83d',
        keys: { 'ключ 🔑': 'значение', '': 'empty key', '"quoted"\\': '\t\n' },
      };
      await emit(bytesProducer, binary.definition, bytes, { partitionKey: 'k' });
      await emit(jsonProducer, text.definition, unicode, { partitionKey: 'k' });
      await received.until((items) => items.length >= 2, {
        idleMs: context.idleMs,
        description: 'the binary and the unicode message',
      });
      const gotBinary = received.items.find((m) => m.type === binary.definition.type);
      const gotText = received.items.find((m) => m.type === text.definition.type);
      expect(gotBinary?.datacontenttype).toBe('application/octet-stream');
      assertSameBytes(gotBinary?.data as Uint8Array, expectedBytes, 'octet-stream data');
      expect(gotText?.data, 'unicode JSON data').toEqual(unicode);
      expect(received.items).toHaveLength(2);
    },
  };
}

const MANY = 1000;
const MANY_KEYS = Array.from({ length: 16 }, (_, i) => `key-${i}`);

/** 1000 messages, none lost, each handled once. */
export function manyMessagesCase(kind: MessageKind): TransportCase {
  return {
    name: `many messages: ${MANY} ${nounOf(kind)}s arrive, none lost, each handled once`,
    requires: [capabilityOf(kind)],
    async run(context) {
      const producerClient = await context.connect();
      const consumerClient = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'many');
      const producer = context.bus({ service: channel.producer, transport: producerClient });
      const consumer = context.bus({ service: channel.consumer, transport: consumerClient });
      const seen = createInbox<Seen>();
      await consumer.subscribe({
        concurrency: 4,
        handlers: [
          on(channel.definition, (m, c) =>
            seen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: 0 }),
          ),
        ],
      });
      const send = (n: number, key: string) =>
        emit(producer, channel.definition, { n, key }, { partitionKey: key });
      const expected = range(0, MANY);
      await inBatches(expected, 50, (n) => send(n, MANY_KEYS[n % MANY_KEYS.length]!));
      await seen.until((items) => countBy(items.filter((s) => s.n >= 0)).size === MANY, {
        idleMs: context.idleMs,
        description: () => `all ${describeMissing(seen.items, expected)}`,
      });
      await flushWithSentinels(context, send, seen, MANY_KEYS);
      expectEachOnce(
        seen.items.filter((s) => s.n >= 0),
        expected,
        `${MANY} ${nounOf(kind)}s`,
      );
    },
  };
}

/** Two consumers of one queue or group share the work; each message goes to exactly one. */
export function competingConsumersCase(kind: MessageKind): TransportCase {
  return {
    name: `competing consumers: each ${nounOf(kind)} is handled by exactly one of two consumers, and both get some`,
    requires: [capabilityOf(kind), 'competingConsumers'],
    async run(context) {
      const producerClient = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'competing');
      const producer = context.bus({ service: channel.producer, transport: producerClient });
      const seen = createInbox<Seen>();
      for (const member of [1, 2]) {
        const client = await context.connect();
        const consumer = context.bus({ service: channel.consumer, transport: client });
        await consumer.subscribe({
          handlers: [
            on(channel.definition, async (m, c) => {
              seen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member });
              await pause(2); // a consumer that is busy lets the other one take work
            }),
          ],
        });
      }
      const send = (n: number, key: string) =>
        emit(producer, channel.definition, { n, key }, { partitionKey: key });
      const members = () => new Set(seen.items.filter((s) => s.n >= 0).map((s) => s.member));
      // Set-up, retried: a broker may assign the second member late, so send batches until both work.
      let sent = 0;
      for (let batch = 0; batch < 5 && (batch === 0 || members().size < 2); batch++) {
        const numbers = range(sent, 40);
        sent += numbers.length;
        await inBatches(numbers, 20, (n) => send(n, `key-${n}`));
        await seen.until((items) => countBy(items.filter((s) => s.n >= 0)).size === sent, {
          idleMs: context.idleMs,
          description: () => `all ${describeMissing(seen.items, range(0, sent))}`,
        });
      }
      await flushWithSentinels(context, send, seen, MANY_KEYS);
      expectEachOnce(
        seen.items.filter((s) => s.n >= 0),
        range(0, sent),
        'competing consumers',
      );
      const perMember = [1, 2].map(
        (member) => seen.items.filter((s) => s.n >= 0 && s.member === member).length,
      );
      expect(
        perMember.every((count) => count > 0),
        `both consumers got work (${perMember.join(' / ')})`,
      ).toBe(true);
    },
  };
}

/** Two consumer groups each get every event. */
export const consumerGroupsCase: TransportCase = {
  name: 'consumer groups: two groups each get every event, once',
  requires: ['events', 'consumerGroups'],
  async run(context) {
    const producerClient = await context.connect();
    const channel = createChannel<Numbered>(context, 'event', 'groups');
    const producer = context.bus({ service: channel.producer, transport: producerClient });
    const groups = [context.name('group-a'), context.name('group-b')];
    const inboxes = groups.map(() => createInbox<Seen>());
    for (const [i, group] of groups.entries()) {
      const client = await context.connect();
      const consumer = context.bus({ service: group, transport: client });
      await consumer.subscribe({
        handlers: [
          on(channel.definition, (m, c) =>
            inboxes[i]!.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: i }),
          ),
        ],
      });
    }
    const keys = MANY_KEYS.slice(0, 8);
    const send = (n: number, key: string) =>
      emit(producer, channel.definition, { n, key }, { partitionKey: key });
    const expected = range(0, 50);
    await inBatches(expected, 25, (n) => send(n, keys[n % keys.length]!));
    for (const [i, inbox] of inboxes.entries()) {
      await inbox.until(
        (items) => countBy(items.filter((s) => s.n >= 0)).size === expected.length,
        {
          idleMs: context.idleMs,
          description: () => `group ${groups[i]}: all ${describeMissing(inbox.items, expected)}`,
        },
      );
    }
    for (const [i, inbox] of inboxes.entries()) {
      await flushWithSentinels(context, send, inbox, keys);
      expectEachOnce(
        inbox.items.filter((s) => s.n >= 0),
        expected,
        `group ${groups[i]}`,
      );
    }
  },
};

/** A subscription to one type never sees another type. */
export function isolationCase(kind: MessageKind): TransportCase {
  return {
    name: `isolation: a subscription to one ${nounOf(kind)} type never receives another type`,
    requires: [capabilityOf(kind)],
    async run(context) {
      const client = await context.connect();
      const producerName = context.name('producer');
      const wanted = createChannel<Numbered>(context, kind, 'wanted', {
        producer: producerName,
        consumer: context.name('consumer-a'),
      });
      const other = createChannel<Numbered>(context, kind, 'other', {
        producer: producerName,
        consumer: context.name('consumer-b'),
      });
      const producer = context.bus({ service: producerName, transport: client });
      const typesSeen = createInbox<string>();
      const wantedSeen = createInbox<Seen>();
      const otherSeen = createInbox<Seen>();
      const wantedConsumer = context.bus({
        service: wanted.consumer,
        transport: client,
        observers: [
          (event) => {
            if (event.kind !== 'published' && event.message) typesSeen.push(event.message.type);
          },
        ],
      });
      await wantedConsumer.subscribe({
        unhandled: 'ignore',
        handlers: [
          on(wanted.definition, (m, c) =>
            wantedSeen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: 0 }),
          ),
        ],
      });
      const otherConsumer = context.bus({ service: other.consumer, transport: client });
      await otherConsumer.subscribe({
        handlers: [
          on(other.definition, (m, c) =>
            otherSeen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: 1 }),
          ),
        ],
      });
      for (const n of range(0, 5)) {
        await emit(producer, other.definition, { n }, { partitionKey: 'same-key' });
        await emit(producer, wanted.definition, { n }, { partitionKey: 'same-key' });
      }
      await otherSeen.until((items) => items.length >= 5, {
        idleMs: context.idleMs,
        description: 'the other type at its own subscription',
      });
      await wantedSeen.until((items) => items.length >= 5, {
        idleMs: context.idleMs,
        description: 'the wanted type',
      });
      // Sentinel: emitted after everything else, on the same key.
      await emit(producer, wanted.definition, { n: -1 }, { partitionKey: 'same-key' });
      await wantedSeen.until((items) => items.some((s) => s.n === -1), {
        idleMs: context.idleMs,
        description: 'the sentinel',
      });
      expect(
        [...new Set(typesSeen.items)],
        'types that reached the subscription to one type',
      ).toEqual([wanted.definition.type]);
      expect(await context.deadLetters(wanted.consumer)).toHaveLength(0);
      expectEachOnce(
        wantedSeen.items.filter((s) => s.n >= 0),
        range(0, 5),
        'the wanted type',
      );
    },
  };
}

const ORDER_KEYS = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
const PER_KEY = 40;

/** Whether the handler of the per-key order case fails the first delivery of message `n`. */
const failsFirst = (n: number) => n % 9 === 4;

/**
 * Several keys interleaved; each key's sequence is handled in order and never two at once
 * (`SubscribeOptions.concurrency` promises order per key regardless of concurrency), also when
 * some messages fail and are redelivered: a retried message holds back the rest of its key.
 */
export function perKeyOrderCase(kind: MessageKind): TransportCase {
  return {
    name: `per-key order: with concurrency 4 and failing first deliveries, each key's ${nounOf(kind)}s are handled in publish order, one at a time, each once`,
    requires: [capabilityOf(kind), 'orderedPerKey', 'delayedRetry'],
    async run(context) {
      const producerClient = await context.connect();
      const consumerClient = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'ordered');
      const producer = context.bus({ service: channel.producer, transport: producerClient });
      const consumer = context.bus({ service: channel.consumer, transport: consumerClient });
      const seen = createInbox<Seen>();
      const active = new Set<string>();
      const overlaps: string[] = [];
      await consumer.subscribe({
        concurrency: 4,
        handlers: [
          on(channel.definition, async (m, c) => {
            const key = m.partitionkey ?? '';
            if (active.has(key)) overlaps.push(`${key}#${m.data.n}`);
            active.add(key);
            try {
              await pause(Math.floor(Math.random() * 3));
              // Some first deliveries fail: their redelivery must still come before what follows.
              if (failsFirst(m.data.n) && c.attempt === 1)
                throw new Error(`first delivery of ${key}#${m.data.n} fails`);
              seen.push({ n: m.data.n, key, attempt: c.attempt, member: 0 });
            } finally {
              active.delete(key);
            }
          }),
        ],
      });
      for (let n = 0; n < PER_KEY; n++) {
        for (const key of ORDER_KEYS) {
          await emit(producer, channel.definition, { n, key }, { partitionKey: key });
        }
      }
      const total = ORDER_KEYS.length * PER_KEY;
      await seen.until((items) => items.length >= total, {
        idleMs: context.idleMs,
        description: () => `${total} messages (have ${seen.items.length})`,
      });
      // Sentinels: a late extra copy of anything above would arrive before them.
      await flushWithSentinels(
        context,
        (n, key) => emit(producer, channel.definition, { n, key }, { partitionKey: key }),
        seen,
        ORDER_KEYS,
      );
      const sequences = Object.fromEntries(
        ORDER_KEYS.map((key) => [
          key,
          seen.items.filter((s) => s.key === key && s.n >= 0).map((s) => s.n),
        ]),
      );
      const expected = Object.fromEntries(ORDER_KEYS.map((key) => [key, range(0, PER_KEY)]));
      expect(sequences, "each key's sequence as handled").toEqual(expected);
      const retried = seen.items.filter((s) => failsFirst(s.n));
      expect(
        retried.every((s) => s.attempt > 1),
        'the messages that failed first were handled on a redelivery',
      ).toBe(true);
      expect(
        overlaps,
        'messages of one key handled while an earlier one was still running',
      ).toEqual([]);
    },
  };
}

/** A new group reads from the earliest retained event, or only newer ones with `startAt: 'latest'`. */
export const replayCase: TransportCase = {
  name: "replay: a new consumer group starting at 'earliest' gets events published before it existed; one starting at 'latest' gets only newer ones",
  requires: ['events', 'replay'],
  async run(context) {
    const producerClient = await context.connect();
    const channel = createChannel<Numbered>(context, 'event', 'replay');
    const producer = context.bus({ service: channel.producer, transport: producerClient });
    const send = (n: number) =>
      emit(producer, channel.definition, { n }, { partitionKey: `key-${n % 4}` });
    await inBatches(range(0, 5), 5, send);
    const subscribe = async (group: string, startAt: 'earliest' | 'latest') => {
      const seen = createInbox<Seen>();
      const client = await context.connect();
      await context.bus({ service: group, transport: client }).subscribe({
        startAt,
        handlers: [
          on(channel.definition, (m, c) =>
            seen.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: 0 }),
          ),
        ],
      });
      return seen;
    };
    const earliest = await subscribe(context.name('from-earliest'), 'earliest');
    const latest = await subscribe(context.name('from-latest'), 'latest');
    // Set-up, retried: a broker may fix a new group's position a little after subscribe resolves.
    let next = 5;
    for (let wave = 0; wave < 5 && (wave === 0 || latest.items.length === 0); wave++) {
      const numbers = range(next, 4);
      next += numbers.length;
      await inBatches(numbers, 4, send);
      await earliest.until((items) => countBy(items).size >= next, {
        idleMs: context.idleMs,
        description: () =>
          `the earliest group to get ${describeMissing(earliest.items, range(0, next))}`,
      });
    }
    await latest.until((items) => items.length > 0, {
      idleMs: context.idleMs,
      description: 'the latest group to get a newer event',
    });
    // Sentinels on every key: everything published before has reached both groups.
    await flushWithSentinels(
      context,
      (n, key) => emit(producer, channel.definition, { n }, { partitionKey: key }),
      latest,
      ['key-0', 'key-1', 'key-2', 'key-3'],
    );
    // The same sentinels at the earliest group, so a late duplicate there is seen too.
    await earliest.until((items) => [-1, -2, -3, -4].every((s) => items.some((i) => i.n === s)), {
      idleMs: context.idleMs,
      description: 'the sentinels at the earliest group',
    });
    expectEachOnce(
      earliest.items.filter((s) => s.n >= 0),
      range(0, next),
      'the group starting at earliest',
    );
    expect(
      latest.items.filter((s) => s.n >= 0 && s.n < 5).map((s) => s.n),
      'events published before the latest group existed',
    ).toEqual([]);
  },
};
