// Transport cases for the dead-letter admin: an operator lists a subscription's dead letters
// with their reason, looks at one, redrives it to that subscription alone once the handler is
// fixed (same id, delivered once, however often the redrive is asked for), redrives by reason
// or all, and discards.
import {
  type DeadLetter,
  type DeadLetterAdmin,
  decodeDeadLetterData,
  type EnvelopeAttributes,
  type MessageKind,
  on,
} from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import { expect } from 'vitest';
import { createInbox, type Inbox } from '../inbox.js';
import { waitFor } from '../wait-for.js';
import { aNounOf, type Channel, capabilityOf, createChannel, emit, emitRaw } from './channel.js';
import type { Numbered } from './delivery-cases.js';
import type { TransportCase, TransportCaseContext } from './transport-setup.js';

/** A subscription whose handler fails `n` values while `broken` holds them, and records what it handled. */
interface FlakyConsumer {
  readonly channel: Channel<Numbered>;
  readonly producer: ReturnType<TransportCaseContext['bus']>;
  /** Values that fail (dead-lettered at their first delivery) until removed. */
  readonly broken: Set<number>;
  /** `n` and message id of every successful handling, in order. */
  readonly handled: Inbox<{ n: number; id: string; attempt: number }>;
  readonly admin: DeadLetterAdmin;
}

async function flakyConsumer(
  context: TransportCaseContext,
  kind: MessageKind,
  label: string,
): Promise<FlakyConsumer> {
  const client = await context.connect();
  const channel = createChannel<Numbered>(context, kind, label);
  const producer = context.bus({ service: channel.producer, transport: client });
  // One delivery, then the dead-letter destination: these cases are about what happens after.
  const consumer = context.bus({
    service: channel.consumer,
    transport: client,
    retry: { maxDeliveries: 1 },
  });
  const broken = new Set<number>();
  const handled = createInbox<{ n: number; id: string; attempt: number }>();
  await consumer.subscribe({
    handlers: [
      on(channel.definition, (m, c) => {
        if (broken.has(m.data.n)) throw new Error(`order ${m.data.n} cannot be processed yet`);
        handled.push({ n: m.data.n, id: m.id, attempt: c.attempt });
      }),
    ],
  });
  return { channel, producer, broken, handled, admin: await context.deadLetterAdmin() };
}

/** Waits until `subscription` lists `count` dead letters; returns them. */
async function listed(
  context: TransportCaseContext,
  admin: DeadLetterAdmin,
  subscription: string,
  count: number,
): Promise<DeadLetter[]> {
  let found: DeadLetter[] = [];
  await waitFor(
    async () => {
      found = await admin.list(subscription);
      return found.length >= count;
    },
    {
      idleMs: context.idleMs,
      intervalMs: 50,
      description: () =>
        `${count} listed dead letter(s) of "${subscription}" (have ${found.length})`,
    },
  );
  return found;
}

/** Emits a last message and waits until it was handled: everything emitted or redriven before it on its key was read. */
async function sentinel(context: TransportCaseContext, flaky: FlakyConsumer, n: number) {
  await emit(flaky.producer, flaky.channel.definition, { n }, { partitionKey: 'k' });
  await flaky.handled.until((items) => items.some((h) => h.n === n), {
    idleMs: context.idleMs,
    description: `the sentinel ${n}`,
  });
}

/** A dead letter is listed with its reason, attributes, destination and body; get and filters agree. */
export function deadLetterListCase(kind: MessageKind): TransportCase {
  return {
    name: `dead-letter admin: ${aNounOf(kind)} that failed is listed with its reason, attempts, original destination, attributes and data`,
    requires: [capabilityOf(kind), 'deadLetter', 'deadLetterAdmin'],
    async run(context) {
      const flaky = await flakyConsumer(context, kind, 'dlq-list');
      const { channel, admin } = flaky;
      flaky.broken.add(1);
      const id = uuidv7();
      const correlationId = `workflow-${id}`;
      await emit(
        flaky.producer,
        channel.definition,
        { n: 1 },
        { id, correlationId, partitionKey: 'k' },
      );
      const [deadLetter, ...others] = await listed(context, admin, channel.consumer, 1);
      expect(others, 'one dead letter').toEqual([]);
      expect(deadLetter!.subscription).toBe(channel.consumer);
      expect(deadLetter!.reason).toMatchObject({
        code: 'EDA_HANDLER',
        message: 'order 1 cannot be processed yet',
        attempts: 1,
        subscription: channel.consumer,
      });
      expect(deadLetter!.attributes).toMatchObject({
        id,
        type: channel.definition.type,
        source: channel.producer,
        correlationid: correlationId,
      });
      // The topic or queue it was delivered from (a queue broker's event queue is the
      // subscription's own, which the suite cannot name): the redrive cases prove it is the way back.
      expect(deadLetter!.destination, 'where it was delivered from').toMatch(/./);
      expect(deadLetter!.headers['x-eda-error-code']).toBe('EDA_HANDLER');
      expect(Number.isNaN(Date.parse(deadLetter!.failedAt ?? ''))).toBe(false);
      expect(decodeDeadLetterData(deadLetter!)).toEqual({ kind: 'json', data: { n: 1 } });
      expect(await admin.get(channel.consumer, deadLetter!.handle), 'get by handle').toEqual(
        deadLetter,
      );
      expect(await admin.get(channel.consumer, `${deadLetter!.handle}-nothing`)).toBeUndefined();
      expect(await admin.list(channel.consumer, { code: 'EDA_DECODE' }), 'other code').toEqual([]);
      expect(await admin.list(context.name('nobody')), 'another subscription').toEqual([]);
    },
  };
}

/**
 * Redrive after the fix: the message reaches the subscription once, with its id, and no other
 * subscription of the same event sees it again; a second redrive of the handle does nothing.
 */
export function redriveCase(kind: MessageKind): TransportCase {
  return {
    name: `dead-letter admin: ${aNounOf(kind)} redriven after the handler was fixed is handled once by its subscription alone, with its id; redriving it again does nothing`,
    requires: [capabilityOf(kind), 'deadLetter', 'deadLetterAdmin'],
    async run(context) {
      const flaky = await flakyConsumer(context, kind, 'dlq-redrive');
      const { channel, admin } = flaky;
      // Another subscription of the same event, which handled it the first time.
      const bystander = createInbox<string>();
      if (kind === 'event') {
        const other = context.bus({
          service: context.name('bystander'),
          transport: await context.connect(),
        });
        await other.subscribe({
          handlers: [on(channel.definition, (m) => void bystander.push(m.id))],
        });
      }
      flaky.broken.add(1);
      const id = uuidv7();
      await emit(flaky.producer, channel.definition, { n: 1 }, { id, partitionKey: 'k' });
      const [deadLetter] = await listed(context, admin, channel.consumer, 1);
      flaky.broken.delete(1); // the fix is deployed
      const redriven = await admin.redrive(channel.consumer, { handles: [deadLetter!.handle] });
      expect(
        redriven.map((d) => d.handle),
        'redriven',
      ).toEqual([deadLetter!.handle]);
      await flaky.handled.until((items) => items.some((h) => h.n === 1), {
        idleMs: context.idleMs,
        description: 'the redriven message',
      });
      expect(
        await admin.redrive(channel.consumer, { handles: [deadLetter!.handle] }),
        'again',
      ).toEqual([]);
      expect(await admin.list(channel.consumer), 'listed after the redrive').toEqual([]);
      await sentinel(context, flaky, 2);
      if (kind === 'event')
        await bystander.until((ids) => ids.length >= 2, {
          idleMs: context.idleMs,
          description: "the bystander's sentinel",
        });
      expect(
        flaky.handled.items.map(({ n, id: handledId, attempt }) => ({ n, id: handledId, attempt })),
        'handled by the subscription: the redriven message once, with its id and a fresh delivery count',
      ).toEqual([{ n: 1, id, attempt: 1 }, expect.objectContaining({ n: 2 })]);
      if (kind === 'event')
        expect(
          bystander.items.filter((seen) => seen === id),
          'the bystander saw it once, before the redrive',
        ).toHaveLength(1);
    },
  };
}

/** Redrive by reason code takes only those; `all` takes the rest; discard removes one for good. */
export function redriveSelectionCase(kind: MessageKind): TransportCase {
  return {
    name: `dead-letter admin: ${aNounOf(kind)} redrive by reason code takes only that code, redrive all takes the rest, discard removes one without delivering it`,
    requires: [capabilityOf(kind), 'deadLetter', 'deadLetterAdmin'],
    async run(context) {
      const flaky = await flakyConsumer(context, kind, 'dlq-select');
      const { channel, admin } = flaky;
      const client = await context.connect();
      // An undecodable body (EDA_DECODE), then two handler failures (EDA_HANDLER).
      const garbageId = uuidv7();
      const attributes: EnvelopeAttributes = {
        id: garbageId,
        type: channel.definition.type,
        source: channel.producer,
        specversion: '1.0',
        kind,
        datacontenttype: 'application/json',
        partitionkey: 'k',
      };
      await emitRaw(client, kind, [
        { attributes, body: new TextEncoder().encode('{"n": 3, not json') },
      ]);
      flaky.broken.add(1);
      flaky.broken.add(2);
      await emit(flaky.producer, channel.definition, { n: 1 }, { partitionKey: 'k' });
      await emit(flaky.producer, channel.definition, { n: 2 }, { partitionKey: 'k' });
      const all = await listed(context, admin, channel.consumer, 3);
      expect(all.map((d) => d.reason.code).sort()).toEqual([
        'EDA_DECODE',
        'EDA_HANDLER',
        'EDA_HANDLER',
      ]);
      const garbage = all.find((d) => d.reason.code === 'EDA_DECODE')!;
      expect(decodeDeadLetterData(garbage).kind, 'the malformed body is shown, not thrown').toBe(
        'unreadable',
      );
      flaky.broken.clear();
      const handlerFailures = await admin.redrive(channel.consumer, { code: 'EDA_HANDLER' });
      expect(handlerFailures.map((d) => d.reason.code)).toEqual(['EDA_HANDLER', 'EDA_HANDLER']);
      await flaky.handled.until((items) => items.length >= 2, {
        idleMs: context.idleMs,
        description: 'the two redriven handler failures',
      });
      const left = await admin.list(channel.consumer);
      expect(
        left.map((d) => d.attributes.id),
        'left after the redrive by code',
      ).toEqual([garbageId]);
      expect(await admin.discard(channel.consumer, left[0]!.handle), 'discarded').toBe(true);
      expect(await admin.discard(channel.consumer, left[0]!.handle), 'discarded twice').toBe(false);
      expect(
        await admin.redrive(channel.consumer, { all: true }),
        'nothing left to redrive',
      ).toEqual([]);
      await sentinel(context, flaky, 4);
      expect(
        flaky.handled.items.map((h) => h.n).sort(),
        'handled: the two redriven ones and the sentinel; never the discarded garbage',
      ).toEqual([1, 2, 4]);
      expect(await admin.list(channel.consumer)).toEqual([]);
    },
  };
}
