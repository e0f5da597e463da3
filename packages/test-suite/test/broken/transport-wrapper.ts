// A transport that forwards everything to an inner one; each broken variant overrides one part.
import type { InMemoryTransport, Transport } from '@eda/core';

/** Forwards every member of `Transport` to `inner`, with `overrides` taking precedence. */
export function forwardTransport(
  inner: InMemoryTransport,
  overrides: Partial<Pick<Transport, 'publish' | 'send' | 'subscribe'>>,
): Transport {
  return {
    name: `broken-${inner.name}`,
    capabilities: inner.capabilities,
    publish: overrides.publish ?? ((messages) => inner.publish(messages)),
    send: overrides.send ?? ((messages) => inner.send(messages)),
    subscribe: overrides.subscribe ?? ((options, handler) => inner.subscribe(options, handler)),
    close: () => inner.close(),
  };
}
