// Transport cases about failure: a throwing handler is redelivered with a rising delivery count,
// a poison message is dead-lettered once with its reason, garbage is dead-lettered at once, an
// unknown type follows the unhandled policy, and a failed handler emits nothing.
import {
  type BusEvent,
  defineCommand,
  defineEvent,
  type EnvelopeAttributes,
  jsonCodec,
  type MessageKind,
  type OutgoingMessage,
  on,
  readDeadLetterReason,
} from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import { expect } from 'vitest';
import { createInbox } from '../inbox.js';
import { aNounOf, capabilityOf, createChannel, emit, emitRaw, nounOf } from './channel.js';
import type { Numbered, Seen } from './delivery-cases.js';
import type { TransportCase } from './transport-setup.js';

/** A handler that throws twice is redelivered and succeeds on the third delivery, once. */
export function redeliveryCase(kind: MessageKind): TransportCase {
  return {
    name: `redelivery: ${aNounOf(kind)} whose handler throws is redelivered and handled on a later attempt, once`,
    requires: [capabilityOf(kind)],
    async run(context) {
      const client = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'redelivery');
      const producer = context.bus({ service: channel.producer, transport: client });
      const consumer = context.bus({
        service: channel.consumer,
        transport: client,
        retry: { immediateRetries: 0, maxDeliveries: 5, initialDelayMs: 50, jitter: 0 },
      });
      const handled = createInbox<Seen>();
      let calls = 0;
      await consumer.subscribe({
        handlers: [
          on(channel.definition, (m, c) => {
            if (m.data.n === 1 && ++calls <= 2) throw new Error(`transient failure ${calls}`);
            handled.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: 0 });
          }),
        ],
      });
      await emit(producer, channel.definition, { n: 1 }, { partitionKey: 'k' });
      await handled.until((items) => items.some((s) => s.n === 1), {
        idleMs: context.idleMs,
        description: () => `the message to succeed (handler called ${calls} times)`,
      });
      // Sentinel: a later message on the same key; nothing of the first may follow it.
      await emit(producer, channel.definition, { n: 2 }, { partitionKey: 'k' });
      await handled.until((items) => items.some((s) => s.n === 2), {
        idleMs: context.idleMs,
        description: 'the sentinel',
      });
      expect(calls, 'handler calls for the failing message').toBe(3);
      expect(handled.items.map((s) => s.n)).toEqual([1, 2]);
      expect(await context.deadLetters(channel.consumer)).toHaveLength(0);
    },
  };
}

/** The delivery count seen by the handler rises 1, 2, 3. */
export function deliveryCountCase(kind: MessageKind): TransportCase {
  return {
    name: `delivery count: a retried ${nounOf(kind)} is delivered with attempt 1, 2, 3`,
    requires: [capabilityOf(kind), 'delayedRetry'],
    async run(context) {
      const client = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'attempts');
      const producer = context.bus({ service: channel.producer, transport: client });
      const consumer = context.bus({
        service: channel.consumer,
        transport: client,
        retry: { immediateRetries: 0, maxDeliveries: 5, initialDelayMs: 50, jitter: 0 },
      });
      const attempts = createInbox<number>();
      await consumer.subscribe({
        handlers: [
          on(channel.definition, (_m, c) => {
            attempts.push(c.attempt);
            if (c.attempt < 3) throw new Error(`fails on attempt ${c.attempt}`);
          }),
        ],
      });
      await emit(producer, channel.definition, { n: 1 }, { partitionKey: 'k' });
      await attempts.until((items) => items.includes(3), {
        idleMs: context.idleMs,
        description: () => `attempt 3 (seen ${attempts.items.join(', ') || 'none'})`,
      });
      await emit(producer, channel.definition, { n: 2 }, { partitionKey: 'k' });
      await attempts.until((items) => items.length >= 4, {
        idleMs: context.idleMs,
        description: 'the sentinel',
      });
      expect(attempts.items, 'attempt of each delivery, then the sentinel').toEqual([1, 2, 3, 1]);
    },
  };
}

/** Always failing: dead-lettered exactly once, with reason headers and the correlation id kept. */
export function poisonCase(kind: MessageKind): TransportCase {
  return {
    name: `poison: ${aNounOf(kind)} that always fails is dead-lettered once, with its reason and correlation id`,
    requires: [capabilityOf(kind), 'deadLetter'],
    async run(context) {
      const client = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'poison');
      const producer = context.bus({ service: channel.producer, transport: client });
      const events = createInbox<BusEvent>();
      const consumer = context.bus({
        service: channel.consumer,
        transport: client,
        retry: { immediateRetries: 1, maxDeliveries: 3, initialDelayMs: 50, jitter: 0 },
        observers: [events.push],
      });
      const calls: number[] = [];
      const handled = createInbox<number>();
      await consumer.subscribe({
        handlers: [
          on(channel.definition, (m, c) => {
            if (m.data.n !== 1) return void handled.push(m.data.n);
            calls.push(c.attempt);
            throw new Error('poison: cannot process order 1');
          }),
        ],
      });
      const id = uuidv7();
      const correlationId = `workflow-${id}`;
      await emit(producer, channel.definition, { n: 1 }, { id, correlationId, partitionKey: 'k' });
      const first = await context.waitForDeadLetters(
        channel.consumer,
        1,
        () => events.items.length,
      );
      expect(first.length).toBeGreaterThanOrEqual(1);
      await emit(producer, channel.definition, { n: 2 }, { partitionKey: 'k' });
      await handled.until((items) => items.includes(2), {
        idleMs: context.idleMs,
        description: 'the sentinel after the poison message',
      });
      const deadLetters = await context.deadLetters(channel.consumer);
      expect(deadLetters, 'dead letters of the subscription').toHaveLength(1);
      const [deadLetter] = deadLetters;
      expect(readDeadLetterReason(deadLetter!.headers)).toMatchObject({
        code: 'EDA_HANDLER',
        errorType: 'Error',
        message: 'poison: cannot process order 1',
        attempts: 3,
        subscription: channel.consumer,
      });
      expect(deadLetter!.attributes).toMatchObject({
        id,
        type: channel.definition.type,
        source: channel.producer,
        correlationid: correlationId,
      });
      expect(jsonCodec.decode(deadLetter!.body), 'dead letter body').toEqual({ n: 1 });
      expect(calls, 'attempt of each try (1 immediate retry per delivery)').toEqual([
        1, 1, 2, 2, 3, 3,
      ]);
    },
  };
}

/** Garbage is dead-lettered at once with EDA_DECODE and the consumer keeps going. */
export function undecodableCase(kind: MessageKind): TransportCase {
  return {
    name: `undecodable: ${aNounOf(kind)} with a bad body or missing attribute is dead-lettered at once (EDA_DECODE) and the consumer keeps running`,
    requires: [capabilityOf(kind), 'deadLetter'],
    async run(context) {
      const client = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'undecodable');
      const producer = context.bus({ service: channel.producer, transport: client });
      const consumer = context.bus({ service: channel.consumer, transport: client });
      const handled = createInbox<number>();
      await consumer.subscribe({
        handlers: [on(channel.definition, (m) => void handled.push(m.data.n))],
      });
      const base = (id: string): EnvelopeAttributes => ({
        id,
        type: channel.definition.type,
        source: channel.producer,
        specversion: '1.0',
        kind,
        datacontenttype: 'application/json',
        partitionkey: 'k',
      });
      const badBody: OutgoingMessage = {
        attributes: base(uuidv7()),
        body: new TextEncoder().encode('{"n": 1, not json'),
      };
      await emitRaw(client, kind, [badBody]);
      const { source: _source, ...withoutSource } = base(uuidv7());
      const noSource = {
        attributes: withoutSource as unknown as EnvelopeAttributes,
        body: jsonCodec.encode({ n: 1 }),
      };
      // A transport may refuse an envelope without a source at publish time: that is fine too.
      const noSourceAccepted = await emitRaw(client, kind, [noSource]).then(
        () => true,
        () => false,
      );
      const expectedIds = [
        badBody.attributes.id,
        ...(noSourceAccepted ? [noSource.attributes.id] : []),
      ];
      await context.waitForDeadLetters(channel.consumer, expectedIds.length);
      await emit(producer, channel.definition, { n: 2 }, { partitionKey: 'k' });
      await handled.until((items) => items.includes(2), {
        idleMs: context.idleMs,
        description: 'a good message after the garbage',
      });
      const deadLetters = await context.deadLetters(channel.consumer);
      expect(
        deadLetters.map((d) => d.attributes.id),
        'dead-lettered messages',
      ).toEqual(expectedIds);
      for (const deadLetter of deadLetters) {
        expect(readDeadLetterReason(deadLetter.headers)).toMatchObject({
          code: 'EDA_DECODE',
          attempts: 1,
          subscription: channel.consumer,
        });
      }
      expect(handled.items, 'messages that reached the handler').toEqual([2]);
    },
  };
}

/** What a handler publishes or sends before it throws is not emitted; the retry's emits are. */
export const failedHandlerEmitsNothingCase: TransportCase = {
  name: 'failed handler: what a handler publishes or sends before it throws is never emitted',
  requires: [],
  async run(context) {
    const { events, commands } = context.capabilities;
    const kind: MessageKind = events ? 'event' : 'command';
    const client = await context.connect();
    const handlerService = context.name('handler');
    const trigger = createChannel<Numbered>(context, kind, 'trigger', { consumer: handlerService });
    const Emitted = defineEvent<Numbered>({
      type: context.name('contract.emitted'),
      owner: handlerService,
    });
    const Sent = defineCommand<Numbered>({
      type: context.name('contract.sent'),
      owner: context.name('downstream'),
    });
    const producer = context.bus({ service: trigger.producer, transport: client });
    const handler = context.bus({
      service: handlerService,
      transport: client,
      retry: { immediateRetries: 0, maxDeliveries: 5, initialDelayMs: 50, jitter: 0 },
    });
    const published = createInbox<number>();
    const sent = createInbox<number>();
    if (events) {
      const watcher = context.bus({ service: context.name('watcher'), transport: client });
      await watcher.subscribe({ handlers: [on(Emitted, (m) => void published.push(m.data.n))] });
    }
    if (commands) {
      const downstream = context.bus({ service: Sent.owner, transport: client });
      await downstream.subscribe({ handlers: [on(Sent, (m) => void sent.push(m.data.n))] });
    }
    let calls = 0;
    await handler.subscribe({
      handlers: [
        on(trigger.definition, async () => {
          const n = ++calls;
          if (events) await handler.publish(Emitted, { n }, { partitionKey: 'k' });
          if (commands) await handler.send(Sent, { n }, { partitionKey: 'k' });
          if (n === 1) throw new Error('fails after emitting');
        }),
      ],
    });
    await emit(producer, trigger.definition, { n: 0 }, { partitionKey: 'k' });
    // The successful retry's messages are the sentinels: the failed attempt's would come first.
    if (events)
      await published.until((items) => items.includes(2), {
        idleMs: context.idleMs,
        description: 'the event published by the successful retry',
      });
    if (commands)
      await sent.until((items) => items.includes(2), {
        idleMs: context.idleMs,
        description: 'the command sent by the successful retry',
      });
    expect(calls).toBe(2);
    if (events) expect(published.items, 'events that left the handler').toEqual([2]);
    if (commands) expect(sent.items, 'commands that left the handler').toEqual([2]);
  },
};

/** A type without a handler: dead-lettered (EDA_UNHANDLED) by default, counted and acked with `ignore`. */
export const unhandledTypeCase: TransportCase = {
  name: 'unhandled type: dead-lettered at once with EDA_UNHANDLED by default; with unhandled: ignore, counted and not dead-lettered',
  requires: ['events', 'deadLetter', 'connectWithSharedDestination'],
  async run(context) {
    const producerName = context.name('producer');
    const known = createChannel<Numbered>(context, 'event', 'known', { producer: producerName });
    const unknown = createChannel<Numbered>(context, 'event', 'unknown', {
      producer: producerName,
    });
    const client = await context.connectWithSharedDestination([
      known.definition.type,
      unknown.definition.type,
    ]);
    const producer = context.bus({ service: producerName, transport: client });
    const strictName = context.name('strict');
    const lenientName = context.name('lenient');
    const strictEvents = createInbox<BusEvent>();
    const lenientEvents = createInbox<BusEvent>();
    const strictSeen = createInbox<number>();
    const lenientSeen = createInbox<number>();
    await context
      .bus({ service: strictName, transport: client, observers: [strictEvents.push] })
      .subscribe({ handlers: [on(known.definition, (m) => void strictSeen.push(m.data.n))] });
    await context
      .bus({ service: lenientName, transport: client, observers: [lenientEvents.push] })
      .subscribe({
        unhandled: 'ignore',
        handlers: [on(known.definition, (m) => void lenientSeen.push(m.data.n))],
      });
    const unknownId = uuidv7();
    await emit(producer, unknown.definition, { n: 1 }, { id: unknownId, partitionKey: 'k' });
    await emit(producer, known.definition, { n: 2 }, { partitionKey: 'k' });
    await context.waitForDeadLetters(strictName, 1, () => strictEvents.items.length);
    const ignored = (items: readonly BusEvent[]) =>
      items.filter((e) => e.kind === 'consumed' && e.outcome === 'ignored');
    await lenientEvents.until((items) => ignored(items).length >= 1, {
      idleMs: context.idleMs,
      description: 'the ignored message to be counted',
    });
    // Sentinel on the same key: everything before it has been settled.
    await emit(producer, known.definition, { n: 3 }, { partitionKey: 'k' });
    for (const seen of [strictSeen, lenientSeen]) {
      await seen.until((items) => items.includes(3), {
        idleMs: context.idleMs,
        description: 'the sentinel',
      });
    }
    const deadLetters = await context.deadLetters(strictName);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.attributes).toMatchObject({
      id: unknownId,
      type: unknown.definition.type,
    });
    expect(readDeadLetterReason(deadLetters[0]!.headers)).toMatchObject({
      code: 'EDA_UNHANDLED',
      attempts: 1,
      subscription: strictName,
    });
    expect(
      await context.deadLetters(lenientName),
      'dead letters with unhandled: ignore',
    ).toHaveLength(0);
    const counted = ignored(lenientEvents.items);
    expect(counted).toHaveLength(1);
    expect(counted[0]!.kind === 'consumed' && counted[0]!.message.id).toBe(unknownId);
    expect(strictSeen.items).toEqual([2, 3]);
    expect(lenientSeen.items).toEqual([2, 3]);
  },
};
