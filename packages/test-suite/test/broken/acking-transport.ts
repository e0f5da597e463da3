// Broken on purpose: settles every delivery as `ack`, even when the pipeline asked for a retry or
// a dead letter (the "commit failed messages" bug).
import type { InMemoryTransport, Transport } from '@eda/core';
import type { DeliveryHandler } from '@eda/core/adapter';
import { forwardTransport } from './transport-wrapper.js';

export function ackingTransport(inner: InMemoryTransport): Transport {
  return forwardTransport(inner, {
    subscribe(options, handler) {
      const wrapped: DeliveryHandler = async (delivery) => {
        await handler(delivery).catch(() => undefined);
        return { type: 'ack' };
      };
      return inner.subscribe(options, wrapped);
    },
  });
}
