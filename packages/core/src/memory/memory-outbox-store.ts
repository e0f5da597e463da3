// The in-memory outbox store, with real transactions: rows exist only once their transaction
// commits, and a commit-order fence keeps the relay from passing a row whose transaction is
// still open (so a late commit is never skipped and per-aggregate order holds).
import type { OutboxClaimOptions, OutboxRecord, OutboxStore } from '../contracts/outbox-store.js';
import type { OutgoingMessage } from '../contracts/transport.js';
import { ConfigurationError, UnavailableError } from '../errors.js';
import { endTransaction, openTransaction } from './memory-transactions.js';

/** An in-memory transaction handle. */
export interface InMemoryTransaction {
  readonly id: number;
  /** Makes the transaction's rows visible. */
  commit(): void;
  /** Discards the transaction's rows. */
  rollback(): void;
}

/** A row as the store keeps it (for inspection in tests). */
export interface InMemoryOutboxRow {
  readonly seq: number;
  readonly message: OutgoingMessage;
  readonly transactionId: number;
  committed: boolean;
  status: 'pending' | 'published' | 'dead';
  attempts: number;
  leaseUntil: number;
  /** The claim that leased the row last; only that claim may settle it. */
  claimId: string | undefined;
  availableAt: number;
  publishedAt: number | undefined;
  lastError: string | undefined;
  /** When `add` wrote the row (epoch ms). */
  readonly writtenAt: number;
}

export interface InMemoryOutboxStore extends OutboxStore<InMemoryTransaction> {
  /** Opens a transaction; pass it to `bus.publish(..., { transaction })`. */
  begin(): InMemoryTransaction;
  /** Runs `fn` in a transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (transaction: InMemoryTransaction) => Promise<T>): Promise<T>;
  /** Every row, in write order. */
  rows(): readonly InMemoryOutboxRow[];
}

/**
 * Creates an outbox store in memory with real transactions (`begin`, `transaction`): rows of a
 * rolled-back transaction are never claimed, and a commit-order fence keeps a late commit from
 * being skipped. Not persistent.
 */
export function createInMemoryOutboxStore(): InMemoryOutboxStore {
  let rows: InMemoryOutboxRow[] = [];
  const open = new Set<number>();
  let nextSeq = 1;
  let nextTransaction = 1;
  let nextClaim = 1;
  let waiters: Array<() => void> = [];
  const wake = () => {
    const current = waiters;
    waiters = [];
    for (const resolve of current) resolve();
  };

  const begin = (): InMemoryTransaction => {
    const id = nextTransaction++;
    open.add(id);
    const finish = (commit: boolean) => {
      if (!open.delete(id)) throw new ConfigurationError(`Transaction ${id} is already finished.`);
      if (commit) {
        for (const row of rows) if (row.transactionId === id) row.committed = true;
      } else {
        rows = rows.filter((row) => row.transactionId !== id);
      }
      endTransaction(transaction, commit);
      wake();
    };
    const transaction: InMemoryTransaction = {
      id,
      commit: () => finish(true),
      rollback: () => finish(false),
    };
    openTransaction(transaction);
    return transaction;
  };

  /**
   * The rows of `records`, each still held by the claim that returned it; otherwise (the lease
   * expired and another claim took the row, or the row was settled already) nothing is settled.
   */
  const heldRows = (records: readonly OutboxRecord[]): InMemoryOutboxRow[] => {
    const bySeq = new Map(rows.map((row) => [row.seq, row]));
    return records.map((record) => {
      const row = bySeq.get(Number(record.recordId));
      if (row?.status !== 'pending' || row.claimId !== record.claimId) {
        throw new UnavailableError(
          `In-memory outbox: record ${record.recordId} is no longer held by the claim that returned it (its lease expired and another claim took it, or it was settled already); nothing was changed.`,
        );
      }
      return row;
    });
  };

  return {
    capabilities: {
      concurrentRelays: true,
      orderedPerAggregate: true,
      notifications: true,
      persistent: false,
    },
    begin,
    async transaction(fn) {
      const transaction = begin();
      try {
        const result = await fn(transaction);
        transaction.commit();
        return result;
      } catch (error) {
        transaction.rollback();
        throw error;
      }
    },
    rows: () => rows,

    async add(transaction, messages) {
      if (!transaction || !open.has(transaction.id)) {
        throw new ConfigurationError(
          'Outbox add() needs an open transaction of this store: use store.begin() or store.transaction(fn).',
        );
      }
      for (const message of messages) {
        rows.push({
          seq: nextSeq++,
          message,
          transactionId: transaction.id,
          committed: false,
          status: 'pending',
          attempts: 0,
          leaseUntil: 0,
          claimId: undefined,
          availableAt: 0,
          publishedAt: undefined,
          lastError: undefined,
          writtenAt: Date.now(),
        });
      }
    },

    async backlog() {
      const waiting = rows.filter((row) => row.committed && row.status === 'pending');
      const oldest = Math.min(...waiting.map((row) => row.writtenAt));
      return {
        records: waiting.length,
        oldestAgeMs: waiting.length ? Date.now() - oldest : undefined,
      };
    },

    async claim({ limit, leaseMs }: OutboxClaimOptions) {
      const now = Date.now();
      const claimId = String(nextClaim++);
      const blocked = new Set<string>();
      const claimed: OutboxRecord[] = [];
      for (const row of rows) {
        if (claimed.length >= limit) break;
        // The fence: nothing after a row whose transaction is still open.
        if (!row.committed) break;
        if (row.status !== 'pending') continue;
        const aggregate = row.message.attributes.partitionkey;
        const claimable = row.leaseUntil <= now && row.availableAt <= now;
        if (!claimable || (aggregate !== undefined && blocked.has(aggregate))) {
          if (aggregate !== undefined) blocked.add(aggregate);
          continue;
        }
        row.leaseUntil = now + leaseMs;
        row.claimId = claimId;
        claimed.push({
          recordId: String(row.seq),
          message: row.message,
          attempts: row.attempts,
          claimId,
        });
      }
      return claimed;
    },

    async complete(records) {
      const settled = heldRows(records);
      const now = Date.now();
      for (const row of settled) {
        row.status = 'published';
        row.publishedAt = now;
        row.leaseUntil = 0;
        row.claimId = undefined;
      }
    },

    async fail(records, { error, maxAttempts, retryAfterMs }, { deferred = false } = {}) {
      const settled = heldRows(records);
      const now = Date.now();
      for (const row of settled) {
        // A deferred record was not refused itself: no attempt is counted, so it never dies here.
        if (!deferred) row.attempts += 1;
        row.claimId = undefined;
        row.lastError = error;
        row.leaseUntil = 0;
        if (!deferred && row.attempts >= maxAttempts) row.status = 'dead';
        else row.availableAt = now + retryAfterMs;
      }
    },

    async purge({ olderThanMs, limit }) {
      const cutoff = Date.now() - olderThanMs;
      let purged = 0;
      rows = rows.filter((row) => {
        if (purged < limit && row.status === 'published' && (row.publishedAt ?? 0) <= cutoff) {
          purged += 1;
          return false;
        }
        return true;
      });
      return purged;
    },

    waitForChange(signal) {
      return new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        waiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
  };
}
