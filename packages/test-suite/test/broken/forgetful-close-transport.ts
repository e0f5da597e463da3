// Broken on purpose: closing a subscription loses the settlement of the last message it acked
// (as a consumer that commits offsets lazily and skips the final commit on close would), so the
// next consumer of the subscription gets that message again.
import type { InMemoryTransport, OutgoingMessage, Transport } from '@eda/core';
import { type DeliveryHandler, parseAttributes } from '@eda/core/adapter';
import { forwardTransport } from './transport-wrapper.js';

export function forgetfulCloseTransport(inner: InMemoryTransport): Transport {
  return forwardTransport(inner, {
    async subscribe(options, handler) {
      let lastAcked: OutgoingMessage | undefined;
      const remembering: DeliveryHandler = async (delivery) => {
        const disposition = await handler(delivery);
        if (disposition.type === 'ack')
          lastAcked = { attributes: parseAttributes(delivery.attributes), body: delivery.body };
        return disposition;
      };
      const subscription = await inner.subscribe(options, remembering);
      return {
        async close() {
          await subscription.close();
          // The lost settlement: the message comes back for whoever consumes next.
          if (lastAcked)
            await (options.kind === 'event' ? inner.publish([lastAcked]) : inner.send([lastAcked]));
        },
      };
    },
  });
}
