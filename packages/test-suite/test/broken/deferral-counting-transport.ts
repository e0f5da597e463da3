// Broken on purpose: a deferred retry (waiting for another consumer's claim) is redelivered as
// an ordinary retry, so each wait counts as a delivery and spends the retry budget.
import type { InMemoryTransport, Transport } from '@eda/core';
import type { DeliveryHandler } from '@eda/core/adapter';
import { forwardTransport } from './transport-wrapper.js';

export function deferralCountingTransport(inner: InMemoryTransport): Transport {
  return forwardTransport(inner, {
    subscribe(options, handler) {
      const wrapped: DeliveryHandler = async (delivery) => {
        const disposition = await handler(delivery);
        if (disposition.type !== 'retry' || !disposition.deferred) return disposition;
        const { deferred: _deferred, ...counted } = disposition;
        return counted;
      };
      return inner.subscribe(options, wrapped);
    },
  });
}
