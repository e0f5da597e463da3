// Broken on purpose: silently drops one message in a thousand that it is asked to publish or send.
import type { InMemoryTransport, OutgoingMessage, Transport } from '@eda/core';
import { forwardTransport } from './transport-wrapper.js';

export function droppingTransport(inner: InMemoryTransport): Transport {
  let count = 0;
  const keep = (messages: readonly OutgoingMessage[]) =>
    messages.filter(() => ++count % 1000 !== 500); // resolves as if the broker had accepted it
  return forwardTransport(inner, {
    publish: (messages) => inner.publish(keep(messages)),
    send: (messages) => inner.send(keep(messages)),
  });
}
