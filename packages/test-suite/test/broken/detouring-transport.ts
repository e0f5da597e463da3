// Broken on purpose: a retry is not redelivered in place; the delivery is acked and handed to
// the handler again after the delay (as a retry topic without a per-key hold would), so later
// messages of the same key overtake it.
import type { InMemoryTransport, Transport } from '@eda/core';
import type { DeliveryHandler } from '@eda/core/adapter';
import { forwardTransport } from './transport-wrapper.js';

export function detouringTransport(inner: InMemoryTransport): Transport {
  return forwardTransport(inner, {
    subscribe(options, handler) {
      const detoured: DeliveryHandler = async (delivery) => {
        const disposition = await handler(delivery);
        if (disposition.type !== 'retry') return disposition;
        setTimeout(() => {
          void detoured({ ...delivery, attempt: delivery.attempt + 1 }).catch(() => undefined);
        }, disposition.delayMs);
        return { type: 'ack' };
      };
      return inner.subscribe(options, detoured);
    },
  });
}
