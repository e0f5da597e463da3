// Broken on purpose: claims with a cursor over the sequence ("id > last seen") and no commit
// fence, so a row whose transaction commits after a later row's is skipped forever. Rows it
// already claimed once (leased or failed) stay eligible, as in a relay that retries its own.
import type { InMemoryOutboxStore, InMemoryTransaction, OutboxStore } from '@eda/core';
import type { OutboxRecord } from '@eda/core/adapter';

export function cursorOutboxStore(inner: InMemoryOutboxStore): OutboxStore<InMemoryTransaction> {
  let cursor = 0;
  const claimedOnce = new Set<number>();
  return {
    capabilities: inner.capabilities,
    add: (transaction, messages) => inner.add(transaction, messages),
    async claim({ limit, leaseMs }) {
      const now = Date.now();
      const blocked = new Set<string>();
      const claimed: OutboxRecord[] = [];
      for (const row of inner.rows()) {
        if (claimed.length >= limit) break;
        if (!row.committed || row.status !== 'pending') continue; // no fence: just skip open rows
        if (row.seq <= cursor && !claimedOnce.has(row.seq)) continue; // behind the cursor: never seen again
        const aggregate = row.message.attributes.partitionkey;
        const claimable = row.leaseUntil <= now && row.availableAt <= now;
        if (!claimable || (aggregate !== undefined && blocked.has(aggregate))) {
          if (aggregate !== undefined) blocked.add(aggregate);
          continue;
        }
        row.leaseUntil = now + leaseMs;
        claimedOnce.add(row.seq);
        cursor = Math.max(cursor, row.seq);
        claimed.push({ recordId: String(row.seq), message: row.message, attempts: row.attempts });
      }
      return claimed;
    },
    complete: (records) => inner.complete(records),
    fail: (records, failure) => inner.fail(records, failure),
    purge: (options) => inner.purge(options),
    waitForChange: (signal) => inner.waitForChange!(signal),
  };
}
