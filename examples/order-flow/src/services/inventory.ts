// Inventory: reserves stock once per payment, however often PaymentCompleted arrives, then asks
// shipping to ship. Its stock is event-sourced (stock.ts): the reservation's domain events, the
// integration event derived from them, its ledger entry and the ShipOrder command commit in one
// transaction. What it sends inherits the payment's correlation id.
import { createBus, on } from '@eda/core';
import { PaymentCompleted, ShipOrder } from '../contracts.js';
import { type Infrastructure, serviceBusOptions, subscribeOptions } from '../infrastructure.js';
import { createStockStreams } from './stock.js';

/** What the warehouse receives first of each SKU (the demo's report shows what is left). */
export const INITIAL_STOCK: Readonly<Record<string, number>> = { mug: 100, kettle: 10, spoon: 60 };

export function createInventoryService(
  infra: Infrastructure,
  initialStock: Readonly<Record<string, number>> = INITIAL_STOCK,
) {
  const stock = createStockStreams({
    store: infra.eventStore,
    outbox: infra.outbox,
    initialStock,
  });
  const bus = createBus({
    ...serviceBusOptions(infra, 'inventory'),
    ...infra.dedupe,
    retry: { initialDelayMs: 20, maxDeliveries: 3 },
  });
  return {
    bus,
    stock,
    start: () =>
      bus.subscribe({
        ...subscribeOptions(infra),
        handlers: [
          on(PaymentCompleted, async ({ data }) => {
            const { orderId, lines } = data;
            await infra.handlerTransaction(async (transaction) => {
              await infra.ledger.record(
                { service: 'inventory', orderId, effect: 'reserved' },
                transaction,
              );
              // One SKU after another in name order: two orders that share SKUs append to their
              // streams in the same order, so their transactions never wait on each other in a
              // circle (a deadlock PostgreSQL would break by failing one).
              for (const line of [...lines].sort((a, b) => a.sku.localeCompare(b.sku)))
                await stock.reserve(transaction, line.sku, orderId, line.quantity);
              await bus.send(ShipOrder, { orderId, lines }, { subject: orderId, transaction });
            });
          }),
        ],
      }),
  };
}
