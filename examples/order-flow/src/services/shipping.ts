// Shipping: the one owner of the ShipOrder command.
import { createBus, on } from '@eda/core';
import { OrderShipped, ShipOrder } from '../contracts.js';
import { type Infrastructure, serviceBusOptions, subscribeOptions } from '../infrastructure.js';

export function createShippingService(infra: Infrastructure) {
  const bus = createBus({ ...serviceBusOptions(infra, 'shipping'), ...infra.dedupe });
  let nextTracking = 1;
  return {
    bus,
    start: () =>
      bus.subscribe({
        ...subscribeOptions(infra),
        handlers: [
          on(ShipOrder, async ({ data }) => {
            await infra.ledger.record({
              service: 'shipping',
              orderId: data.orderId,
              effect: 'shipped',
            });
            const trackingNumber = `TRK-${String(nextTracking++).padStart(6, '0')}`;
            await bus.publish(
              OrderShipped,
              { orderId: data.orderId, trackingNumber },
              { partitionKey: data.orderId, ...infra.handlerEmit() },
            );
          }),
        ],
      }),
  };
}
