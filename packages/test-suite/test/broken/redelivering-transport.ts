// Broken on purpose: one acknowledged delivery in a hundred is delivered once more, right after
// its ack (as a broker that lost the ack would), so it lands before the case's sentinels.
import type { InMemoryTransport, Transport } from '@eda/core';
import type { DeliveryHandler } from '@eda/core/adapter';
import { forwardTransport } from './transport-wrapper.js';

export function redeliveringTransport(inner: InMemoryTransport): Transport {
  let acks = 0;
  return forwardTransport(inner, {
    subscribe(options, handler) {
      const wrapped: DeliveryHandler = async (delivery) => {
        const disposition = await handler(delivery);
        if (disposition.type === 'ack' && ++acks % 100 === 0) {
          setImmediate(() => {
            handler({ ...delivery, attempt: delivery.attempt + 1 }).catch(() => undefined);
          });
        }
        return disposition;
      };
      return inner.subscribe(options, wrapped);
    },
  });
}
