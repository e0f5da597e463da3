// Broken on purpose: settles a record whatever claim it came from, as a store without a lease
// identity does, so a relay that stalled past its lease settles the new holder's records.
import type { InMemoryOutboxStore, InMemoryTransaction, OutboxStore } from '@eda/core';

export function unfencedOutboxStore(inner: InMemoryOutboxStore): OutboxStore<InMemoryTransaction> {
  /** The records as if they came from the row's current claim. */
  const current = <T extends { recordId: string }>(records: readonly T[]): T[] =>
    records.map((record) => {
      const row = inner.rows().find((r) => String(r.seq) === record.recordId);
      return { ...record, claimId: row?.claimId };
    });
  return {
    ...inner,
    complete: (records) => inner.complete(current(records)),
    fail: (records, failure) => inner.fail(current(records), failure),
  };
}
