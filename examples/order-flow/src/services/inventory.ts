// Inventory: reserves stock once per payment, however often PaymentCompleted arrives, then asks
// shipping to ship. What it publishes inherits the payment's correlation id.
import { createBus, on } from '@eda/core';
import { PaymentCompleted, ShipOrder, StockReserved } from '../contracts.js';
import { type Infrastructure, serviceBusOptions, subscribeOptions } from '../infrastructure.js';

/** What the warehouse holds when inventory starts (the demo's report shows what is left). */
export const INITIAL_STOCK: Readonly<Record<string, number>> = { mug: 100, kettle: 10, spoon: 60 };

export function createInventoryService(
  infra: Infrastructure,
  initialStock: Readonly<Record<string, number>> = INITIAL_STOCK,
) {
  const stock = new Map(Object.entries(initialStock));
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
            await infra.ledger.record({
              service: 'inventory',
              orderId: data.orderId,
              effect: 'reserved',
            });
            for (const line of data.lines)
              stock.set(line.sku, (stock.get(line.sku) ?? 0) - line.quantity);
            await bus.publish(
              StockReserved,
              { orderId: data.orderId, lines: data.lines },
              { partitionKey: data.orderId, ...infra.handlerEmit() },
            );
            await bus.send(
              ShipOrder,
              { orderId: data.orderId, lines: data.lines },
              { subject: data.orderId, ...infra.handlerEmit() },
            );
          }),
        ],
      }),
  };
}
