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
          on(ShipOrder, ({ data }) =>
            // The shipment and its announcement commit together (see handlerTransaction).
            infra.handlerTransaction(async (transaction) => {
              const { orderId } = data;
              await infra.ledger.record(
                { service: 'shipping', orderId, effect: 'shipped' },
                transaction,
              );
              const trackingNumber = `TRK-${String(nextTracking++).padStart(6, '0')}`;
              await bus.publish(
                OrderShipped,
                { orderId, trackingNumber },
                { partitionKey: orderId, transaction },
              );
            }),
          ),
        ],
      }),
  };
}
