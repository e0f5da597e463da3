// Broken on purpose: claims in transaction order (the order in which writer transactions began,
// then write order), as an outbox ordered by transaction id does, with the commit fence kept.
// Two conflicting writers of one aggregate whose second began first come out inverted.
import type { InMemoryOutboxStore, InMemoryTransaction, OutboxStore } from '@eda/core';
import type { OutboxRecord } from '@eda/core/adapter';

export function transactionOrderOutboxStore(
  inner: InMemoryOutboxStore,
): OutboxStore<InMemoryTransaction> {
  return {
    ...inner,
    async claim({ limit, leaseMs }) {
      const now = Date.now();
      const blocked = new Set<string>();
      const claimed: OutboxRecord[] = [];
      const ordered = [...inner.rows()].sort(
        (a, b) => a.transactionId - b.transactionId || a.seq - b.seq,
      );
      for (const row of ordered) {
        if (claimed.length >= limit) break;
        if (!row.committed) break; // the fence, in this order
        if (row.status !== 'pending') continue;
        const aggregate = row.message.attributes.partitionkey;
        const claimable = row.leaseUntil <= now && row.availableAt <= now;
        if (!claimable || (aggregate !== undefined && blocked.has(aggregate))) {
          if (aggregate !== undefined) blocked.add(aggregate);
          continue;
        }
        row.leaseUntil = now + leaseMs;
        row.claimId = `tx-order-${now}-${row.seq}`;
        claimed.push({
          recordId: String(row.seq),
          message: row.message,
          attempts: row.attempts,
          claimId: row.claimId,
        });
      }
      return claimed;
    },
  };
}
