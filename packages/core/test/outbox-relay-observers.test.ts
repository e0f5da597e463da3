// The relay's observers hear what really left the service: only committed outbox records, only
// once the broker accepted them, and a throwing observer changes nothing about settlement.
import { describe, expect, it } from 'vitest';
import {
  createBus,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  createOutboxRelay,
  type OutgoingMessage,
} from '../src/index.js';
import { OrderPlaced, orderIdOf, refusingBroker, rowOf, write } from './relay-fixtures.js';

describe('outbox relay: observers', () => {
  it('reports committed records after the broker accepted them, never a rolled-back write', async () => {
    const store = createInMemoryOutboxStore();
    const bus = createBus({
      service: 'orders',
      transport: createInMemoryTransport(),
      outbox: store,
    });
    await write(store, [['A', 'a']]);
    const rolledBack = store.begin();
    await bus.publish(OrderPlaced, { orderId: 'R' }, { transaction: rolledBack });
    rolledBack.rollback();
    await write(store, [['B', 'b']]);

    const { transport, published } = refusingBroker(() => false);
    const heard: { ids: string[]; acceptedBefore: number }[] = [];
    const relay = createOutboxRelay({
      store,
      transport,
      purge: false,
      observers: [
        (messages) =>
          heard.push({ ids: messages.map(orderIdOf), acceptedBefore: published.length }),
      ],
    });
    await relay.drain();

    expect(heard.flatMap((h) => h.ids)).toEqual(['A', 'B']);
    // Each batch is reported after the broker took it, so it counts among the published ones.
    for (const batch of heard)
      expect(batch.acceptedBefore).toBeGreaterThanOrEqual(batch.ids.length);
    expect(published).toEqual(['A', 'B']);
  });

  it('does not report a record the broker refused', async () => {
    const store = createInMemoryOutboxStore();
    await write(store, [
      ['P', 'p'],
      ['G', 'g'],
    ]);
    const { transport } = refusingBroker((id) => id === 'P');
    const heard: string[] = [];
    const relay = createOutboxRelay({
      store,
      transport,
      purge: false,
      initialBackoffMs: 60_000,
      observers: [(messages) => heard.push(...messages.map(orderIdOf))],
      onError: () => undefined,
    });
    await relay.drain();
    expect(heard).toEqual(['G']);
    expect(rowOf(store, 'P').status).toBe('pending');
  });

  it('completes the records when an observer throws, and still tells the other observers', async () => {
    const store = createInMemoryOutboxStore();
    await write(store, [['A', 'a']]);
    const { transport } = refusingBroker(() => false);
    const heard: OutgoingMessage[] = [];
    const relay = createOutboxRelay({
      store,
      transport,
      purge: false,
      observers: [
        () => {
          throw new Error('observer bug');
        },
        (messages) => heard.push(...messages),
      ],
    });
    expect(await relay.drain()).toBe(1);
    expect(heard.map(orderIdOf)).toEqual(['A']);
    expect(rowOf(store, 'A').status).toBe('published');
  });
});
