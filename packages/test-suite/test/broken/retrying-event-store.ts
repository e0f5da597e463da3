// Broken on purpose: on a version conflict it reads the stream's version again and appends on
// top, the "helpful" retry that turns optimistic concurrency into a lost update (a writer's
// decision, made on a stale state, is stored anyway).
import { type EventStore, type InMemoryTransaction, StreamVersionConflictError } from '@eda/core';

export function retryingEventStore(
  inner: EventStore<InMemoryTransaction>,
): EventStore<InMemoryTransaction> {
  return {
    ...inner,
    async append(transaction, stream, expectedVersion, events) {
      try {
        return await inner.append(transaction, stream, expectedVersion, events);
      } catch (error) {
        if (!StreamVersionConflictError.isInstance(error)) throw error;
        const current = await inner.streamVersion(stream);
        return inner.append(transaction, stream, current, events);
      }
    },
  };
}
