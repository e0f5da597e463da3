// Broken on purpose: its reads ignore the caller's transaction and return committed events only,
// so a handler that loads a stream inside its transaction misses its own appends (and, on a
// database, takes a second pooled connection while the transaction holds one).
import type { EventStore, InMemoryTransaction } from '@eda/core';

export function outsideReadsEventStore(
  inner: EventStore<InMemoryTransaction>,
): EventStore<InMemoryTransaction> {
  return {
    ...inner,
    readStream: (stream, { transaction: _ignored, ...options } = {}) =>
      inner.readStream(stream, options),
    streamVersion: (stream) => inner.streamVersion(stream),
  };
}
