// The code of docs/event-sourcing.md, run as it is printed there: docs-snippets.test.ts checks
// that every TypeScript block of the page appears verbatim in this file.

// #region definitions
import {
  createBus,
  createEventCommitter,
  createInMemoryEventStore,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  createOutboxRelay,
  defineDomainEvent,
  defineEvent,
  domainEvent,
  on,
  type ReceivedMessage,
  replay,
  when,
} from '@eda/core';
import { describe, expect, it } from 'vitest';

// Internal to inventory: how it stores its stock. Appended to a stream, never published.
const StockReceived = defineDomainEvent<{ sku: string; quantity: number }>({
  type: 'stock.received',
});
const StockReserved = defineDomainEvent<{ sku: string; orderId: string; quantity: number }>({
  type: 'stock.reserved',
});
const StockReleased = defineDomainEvent<{ sku: string; orderId: string; quantity: number }>({
  type: 'stock.released',
});

// The contract other services rely on: smaller, stable, owned and published by inventory.
const StockAvailabilityChanged = defineEvent<{ sku: string; available: number }>({
  type: 'inventory.stock-availability-changed',
  owner: 'inventory',
});
// #endregion definitions

// #region aggregate
interface Stock {
  readonly onHand: number;
  readonly reserved: number;
}
const evolve = [
  when(StockReceived, (s: Stock, e) => ({ ...s, onHand: s.onHand + e.quantity })),
  when(StockReserved, (s: Stock, e) => ({ ...s, reserved: s.reserved + e.quantity })),
  when(StockReleased, (s: Stock, e) => ({ ...s, reserved: s.reserved - e.quantity })),
];
// #endregion aggregate

describe('docs/event-sourcing.md', () => {
  it('keeps stock as an event-sourced aggregate and publishes only the translation', async () => {
    // #region wiring
    const outbox = createInMemoryOutboxStore(); // on PostgreSQL: createPostgresOutboxStore
    const store = createInMemoryEventStore({ outbox }); // createPostgresEventStore
    const committer = createEventCommitter({ service: 'inventory', store, outbox });

    /** Reserves stock for an order: load, decide, commit the decision and its translation. */
    async function reserve(sku: string, orderId: string, quantity: number) {
      const stream = `stock-${sku}`;
      const history = await store.readStream(stream);
      const stock = replay(history, { onHand: 0, reserved: 0 }, evolve);
      if (stock.onHand - stock.reserved < quantity) throw new Error(`${sku} is out of stock`);
      await committer.commit(
        stream,
        history.at(-1)?.version ?? 0,
        [domainEvent(StockReserved, { sku, orderId, quantity })],
        {
          // The one place where state meets communication: what may the world know?
          publish: (_event, publish) =>
            publish(
              StockAvailabilityChanged,
              { sku, available: stock.onHand - stock.reserved - quantity },
              { partitionKey: sku }, // the public id, not the stream name
            ),
        },
      );
    }
    // #endregion wiring

    const transport = createInMemoryTransport();
    const relay = createOutboxRelay({ store: outbox, transport });
    const seen: ReceivedMessage<{ sku: string; available: number }>[] = [];
    const storefront = createBus({ service: 'storefront', transport });
    await storefront.subscribe({
      handlers: [on(StockAvailabilityChanged, (message) => void seen.push(message))],
    });
    relay.start();
    try {
      await committer.commit('stock-sku-1', 0, [
        domainEvent(StockReceived, { sku: 'sku-1', quantity: 5 }),
      ]);
      // #region use
      await reserve('sku-1', 'order-1', 2);
      await reserve('sku-1', 'order-2', 1);
      // The storefront receives inventory.stock-availability-changed with available 3, then 2,
      // each with the stream version as its entity version (2, then 3); it never sees
      // stock.received or stock.reserved.
      // #endregion use
      await expect.poll(() => seen.length).toBe(2);
      expect(seen.map((m) => [m.data.available, m.version, m.partitionkey])).toEqual([
        [3, 2, 'sku-1'],
        [2, 3, 'sku-1'],
      ]);
      await expect(reserve('sku-1', 'order-3', 5)).rejects.toThrow('sku-1 is out of stock');
      expect(await store.streamVersion('stock-sku-1')).toBe(3);
    } finally {
      await relay.stop();
      await transport.close();
    }
  });
});
