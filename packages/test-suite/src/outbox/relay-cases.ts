// Outbox cases that run core's relay over the store: concurrent relays lose nothing and send
// nothing twice, and a bus writing through the outbox reaches a transport end to end.
import {
  createBus,
  createInMemoryTransport,
  createOutboxRelay,
  defineEvent,
  type OutboxStore,
  on,
  type ReceivedMessage,
} from '@eda/core';
import { expect } from 'vitest';
import { createInbox } from '../inbox.js';
import type { OutboxCase } from './outbox-setup.js';

const TRANSACTIONS = 20;
const PER_TRANSACTION = 10;
const AGGREGATES = 10;

/** Two relays over two connections, while writers commit out of order: every record once. */
export const concurrentRelaysCase: OutboxCase = {
  name: 'concurrent relays: two relays on two connections deliver every record, none lost and none twice, in order per aggregate',
  requires: ['concurrentRelays', 'otherStore'],
  async run(context) {
    const transport = createInMemoryTransport();
    context.defer(() => transport.close());
    const received = createInbox<{ n: number; aggregate: string }>();
    const type = context.message({ n: 0 }).attributes.type;
    await transport.subscribe(
      { name: context.name('watcher'), kind: 'event', types: [type] },
      async (delivery) => {
        const { n, aggregate } = JSON.parse(new TextDecoder().decode(delivery.body)) as {
          n: number;
          aggregate: string;
        };
        received.push({ n, aggregate });
        return { type: 'ack' };
      },
    );
    const errors: unknown[] = [];
    const stores = [context.store, await context.otherStore()];
    const relays = stores.map((store) =>
      createOutboxRelay({
        store: store as OutboxStore<never>,
        transport,
        batchSize: 7,
        leaseMs: 30_000,
        pollIntervalMs: 20,
        purge: false,
        onError: (error) => errors.push(error),
      }),
    );
    for (const relay of relays) {
      relay.start();
      context.defer(() => relay.stop());
    }
    // Writers in pairs: the first transaction of each pair begins and writes first, commits last.
    let n = 0;
    for (let pair = 0; pair < TRANSACTIONS / 2; pair++) {
      const first = await context.begin();
      const second = await context.begin();
      for (const transaction of [first, second]) {
        const messages = Array.from({ length: PER_TRANSACTION }, () => {
          const current = n++;
          return context.message({ n: current, aggregate: `aggregate-${current % AGGREGATES}` });
        });
        await context.store.add(transaction.transaction, messages);
      }
      await second.commit();
      await first.commit();
    }
    const total = TRANSACTIONS * PER_TRANSACTION;
    await received.until((items) => new Set(items.map((r) => r.n)).size >= total, {
      idleMs: context.idleMs,
      description: () => `${total} records (have ${new Set(received.items.map((r) => r.n)).size})`,
    });
    await Promise.all(relays.map((relay) => relay.stop()));
    expect(errors, 'relay errors').toEqual([]);
    const duplicates = received.items.length - new Set(received.items.map((r) => r.n)).size;
    expect(duplicates, 'records published twice although every lease was long').toBe(0);
    if (context.capabilities.orderedPerAggregate) {
      const orderOf = (items: readonly { n: number; aggregate: string }[]) =>
        Object.fromEntries(
          Array.from({ length: AGGREGATES }, (_, a) => [
            `aggregate-${a}`,
            items.filter((r) => r.aggregate === `aggregate-${a}`).map((r) => r.n),
          ]),
        );
      const sorted = [...received.items].sort((a, b) => a.n - b.n);
      expect(orderOf(received.items), 'order per aggregate as delivered').toEqual(orderOf(sorted));
    }
  },
};

/** A bus writes events in transactions; the relay delivers the committed ones to subscribers. */
export const relayEndToEndCase: OutboxCase = {
  name: 'end to end: events a bus writes in committed transactions reach a subscriber through the relay; rolled-back ones never',
  requires: [],
  async run(context) {
    const transport = createInMemoryTransport();
    context.defer(() => transport.close());
    const producerName = context.name('orders');
    const OrderPlaced = defineEvent<{ n: number }>({
      type: context.name('contract.order-placed'),
      owner: producerName,
    });
    const producer = createBus({ service: producerName, transport, outbox: context.store });
    const consumer = createBus({ service: context.name('billing'), transport });
    context.defer(() => producer.close());
    context.defer(() => consumer.close());
    const received = createInbox<ReceivedMessage<{ n: number }>>();
    await consumer.subscribe({ handlers: [on(OrderPlaced, (m) => received.push(m))] });

    const committed = await context.begin();
    for (const n of [1, 2, 3]) {
      await producer.publish(
        OrderPlaced,
        { n },
        {
          transaction: committed.transaction,
          partitionKey: 'order-1',
          correlationId: 'checkout-1',
        },
      );
    }
    await committed.commit();
    const rolledBack = await context.begin();
    await producer.publish(
      OrderPlaced,
      { n: 4 },
      { transaction: rolledBack.transaction, partitionKey: 'order-1' },
    );
    await rolledBack.rollback();
    const sentinel = await context.begin();
    await producer.publish(
      OrderPlaced,
      { n: 5 },
      { transaction: sentinel.transaction, partitionKey: 'order-1' },
    );
    await sentinel.commit();

    const relay = createOutboxRelay({
      store: context.store as OutboxStore<never>,
      transport,
      purge: false,
    });
    expect(await relay.drain(), 'records the relay published').toBe(4);
    await received.until((items) => items.some((m) => m.data.n === 5), {
      idleMs: context.idleMs,
      description: 'the sentinel event',
    });
    expect(
      received.items.map((m) => m.data.n),
      'events in write order',
    ).toEqual([1, 2, 3, 5]);
    for (const message of received.items.slice(0, 3)) {
      expect(message).toMatchObject({
        source: producerName,
        correlationid: 'checkout-1',
        partitionkey: 'order-1',
      });
      expect(message.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
    }
    expect(await relay.drain(), 'a second drain finds nothing').toBe(0);
  },
};
