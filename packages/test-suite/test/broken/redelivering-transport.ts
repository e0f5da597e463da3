// Broken on purpose: one acknowledged delivery in a hundred is delivered once more, later.
import type { DeliveryHandler, InMemoryTransport, Transport } from '@eda/core';
import { forwardTransport } from './transport-wrapper.js';

export function redeliveringTransport(inner: InMemoryTransport): Transport {
  let acks = 0;
  return forwardTransport(inner, {
    subscribe(options, handler) {
      const wrapped: DeliveryHandler = async (delivery) => {
        const disposition = await handler(delivery);
        if (disposition.type === 'ack' && ++acks % 100 === 0) {
          setTimeout(() => {
            handler({ ...delivery, attempt: delivery.attempt + 1 }).catch(() => undefined);
          }, 5);
        }
        return disposition;
      };
      return inner.subscribe(options, wrapped);
    },
  });
}
