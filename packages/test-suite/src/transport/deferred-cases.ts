// Transport case about deferred retries: a message whose dedupe claim another consumer holds is
// redelivered after the delay with the same attempt, so waiting for a claim never spends the
// delivery budget (and never dead-letters the message).
import {
  type BusEvent,
  createInMemoryIdempotencyStore,
  type Envelope,
  type MessageKind,
  on,
} from '@eda/core';
import { dedupeKey, uuidv7 } from '@eda/core/adapter';
import { expect } from 'vitest';
import { createInbox } from '../inbox.js';
import { aNounOf, capabilityOf, createChannel, emit } from './channel.js';
import type { Numbered, Seen } from './delivery-cases.js';
import type { TransportCase } from './transport-setup.js';

/** How long the "dead" consumer's claim holds the message. */
const HELD_MS = 400;

/** A message held by another consumer's claim is deferred without counting attempts. */
export function deferredRetryCase(kind: MessageKind): TransportCase {
  return {
    name: `deferred retry: ${aNounOf(kind)} whose claim another consumer holds is redelivered after the delay with the same attempt, and handled once`,
    requires: [capabilityOf(kind), 'delayedRetry'],
    async run(context) {
      const client = await context.connect();
      const channel = createChannel<Numbered>(context, kind, 'deferred');
      const producer = context.bus({ service: channel.producer, transport: client });
      const store = createInMemoryIdempotencyStore();
      const events = createInbox<BusEvent>();
      const consumer = context.bus({
        service: channel.consumer,
        transport: client,
        idempotency: { store },
        // One delivery only: any wait that counted as a delivery would show as attempt 2.
        retry: { immediateRetries: 0, maxDeliveries: 1 },
        observers: [events.push],
      });
      const handled = createInbox<Seen>();
      await consumer.subscribe({
        handlers: [
          on(channel.definition, (m, c) =>
            handled.push({ n: m.data.n, key: m.partitionkey, attempt: c.attempt, member: 0 }),
          ),
        ],
      });
      const id = uuidv7();
      // A consumer that died mid-handler holds the message's claim for HELD_MS.
      const { key } = dedupeKey(
        channel.consumer,
        { id, source: channel.producer } as Envelope,
        'message-id',
      );
      const held = await store.claim(key, { leaseMs: HELD_MS });
      expect(held.status, 'the dead consumer claim (set-up)').toBe('claimed');
      await emit(producer, channel.definition, { n: 1 }, { id, partitionKey: 'k' });
      const retries = () => events.items.filter((e) => e.kind === 'retry');
      await handled.until((items) => items.some((s) => s.n === 1), {
        idleMs: context.idleMs + HELD_MS,
        description: () =>
          `the held message once its claim expired (${retries().length} deferred retries so far)`,
      });
      // Sentinel on the same key: a late extra copy of the held message would come before it.
      await emit(producer, channel.definition, { n: 2 }, { partitionKey: 'k' });
      await handled.until((items) => items.some((s) => s.n === 2), {
        idleMs: context.idleMs,
        description: 'the sentinel',
      });
      expect(
        handled.items.map((s) => `${s.n}@attempt ${s.attempt}`),
        'each message handled once, on attempt 1 (a deferred wait keeps the attempt)',
      ).toEqual(['1@attempt 1', '2@attempt 1']);
      expect(retries().length, 'deferred retries while the claim was held').toBeGreaterThan(0);
      expect(
        retries().every((e) => e.kind === 'retry' && e.deferred && e.attempt === 1),
        'every retry was deferred and kept attempt 1',
      ).toBe(true);
      expect(await context.deadLetters(channel.consumer), 'dead letters').toHaveLength(0);
    },
  };
}
