// Broken on purpose: its global reader returns every committed event in position order, without
// the commit-order fence, so an event whose transaction was still open when a later one was read
// is skipped by a reader that goes on from the later event's position.
import type { EventStore, InMemoryTransaction, RecordedEvent } from '@eda/core';

export function unfencedEventStore(
  inner: EventStore<InMemoryTransaction>,
): EventStore<InMemoryTransaction> {
  const streams = new Set<string>();
  return {
    ...inner,
    append(transaction, stream, expectedVersion, events) {
      streams.add(stream);
      return inner.append(transaction, stream, expectedVersion, events);
    },
    async readAll({ after, limit }) {
      const committed: RecordedEvent[] = [];
      for (const stream of streams) committed.push(...(await inner.readStream(stream)));
      return committed
        .filter((event) => after === undefined || Number(event.position) > Number(after))
        .sort((a, b) => Number(a.position) - Number(b.position))
        .slice(0, limit);
    },
  };
}
