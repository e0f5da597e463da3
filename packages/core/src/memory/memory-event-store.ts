// The in-memory event store, with real transactions shared with the in-memory outbox store:
// appended events exist only once their transaction commits, a concurrent append to the same
// stream waits for the other transaction and then conflicts (as a unique index would make it),
// and the global reader stops at the first event whose transaction is still open, so a late
// commit is never skipped.
import type {
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
} from '../contracts/event-store.js';
import { ConfigurationError, StreamVersionConflictError } from '../errors.js';
import { assertStreamName, prepareAppend } from '../event-store-input.js';
import { EncodeError } from '../publisher/prepare-message.js';
import {
  createInMemoryOutboxStore,
  type InMemoryOutboxStore,
  type InMemoryTransaction,
} from './memory-outbox-store.js';
import { isOpenTransaction, onTransactionEnd } from './memory-transactions.js';

const STORE = 'In-memory event store';

/** Options of `createInMemoryEventStore`. */
export interface InMemoryEventStoreOptions {
  /**
   * The in-memory outbox whose transactions the store's `transaction()` opens, so that an
   * append and the outbox rows written in the same transaction commit together.
   * @default a private outbox store, used only for its transactions
   */
  readonly outbox?: InMemoryOutboxStore;
}

/** An event as the in-memory store keeps it. */
interface StoredRow {
  readonly event: RecordedEvent;
  readonly transaction: InMemoryTransaction;
  committed: boolean;
}

/** The in-memory event store; its transactions are the in-memory outbox store's. */
export interface InMemoryEventStore extends EventStore<InMemoryTransaction> {}

function parsePosition(after: string | undefined): number {
  if (after === undefined) return 0;
  if (typeof after !== 'string' || !/^\d{1,15}$/.test(after)) {
    throw new ConfigurationError(
      `${STORE}: position ${JSON.stringify(after)} is not one of this store's positions: pass the position of an event it returned.`,
    );
  }
  return Number(after);
}

/** JSON data as a database would keep it: a copy, with what JSON cannot hold refused. */
function asJson(stream: string, type: string, data: unknown): unknown {
  try {
    const text = JSON.stringify(data);
    return text === undefined ? null : JSON.parse(text);
  } catch (cause) {
    throw new EncodeError(
      `${STORE}: data of "${type}" for stream "${stream}" is not JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/**
 * Creates an event store in memory. Its transactions are those of the in-memory outbox store
 * (`options.outbox`): open one with `store.transaction(fn)` (or `outbox.begin()`), append, and
 * write outbox rows in it. Not persistent.
 */
export function createInMemoryEventStore(
  options: InMemoryEventStoreOptions = {},
): InMemoryEventStore {
  const outbox = options.outbox ?? createInMemoryOutboxStore();
  let rows: StoredRow[] = [];
  let nextPosition = 1;
  /** Transactions with appends, and the promise that settles when each ends. */
  const writing = new Map<InMemoryTransaction, Promise<void>>();

  /** Whether `transaction` sees `row`: committed, or its own append. */
  const visible = (row: StoredRow, transaction: InMemoryTransaction | undefined) =>
    row.committed || (transaction !== undefined && row.transaction === transaction);

  const versionSeenBy = (stream: string, transaction?: InMemoryTransaction) => {
    let version = 0;
    for (const row of rows)
      if (row.event.stream === stream && visible(row, transaction)) version = row.event.version;
    return version;
  };
  const committedVersion = (stream: string) => versionSeenBy(stream);

  /** The transaction a read runs in, checked as a database would refuse a closed one. */
  const readingIn = (what: string, transaction: InMemoryTransaction | undefined) => {
    if (transaction !== undefined && !isOpenTransaction(transaction)) {
      throw new ConfigurationError(
        `${STORE}: ${what} was given a transaction that is not open: pass the handle of store.transaction(fn) while fn runs, or leave it out to read committed events.`,
      );
    }
    return transaction;
  };

  /** Joins `transaction`: its rows become visible when it commits and vanish if it rolls back. */
  const join = (transaction: InMemoryTransaction) => {
    if (writing.has(transaction)) return;
    let resolveEnded = () => {};
    writing.set(
      transaction,
      new Promise<void>((resolve) => {
        resolveEnded = resolve;
      }),
    );
    onTransactionEnd(transaction, (committed) => {
      writing.delete(transaction);
      if (committed) {
        for (const row of rows) if (row.transaction === transaction) row.committed = true;
      } else {
        rows = rows.filter((row) => row.transaction !== transaction);
      }
      resolveEnded();
    });
  };

  /** An open transaction other than `transaction` that has appended to `stream`, if any. */
  const otherWriter = (transaction: InMemoryTransaction, stream: string) =>
    rows.find(
      (row) => !row.committed && row.transaction !== transaction && row.event.stream === stream,
    )?.transaction;

  return {
    capabilities: { persistent: false },

    async append(transaction, stream, expectedVersion, events): Promise<AppendResult> {
      if (!isOpenTransaction(transaction)) {
        throw new ConfigurationError(
          `${STORE}: append() needs an open in-memory transaction: use store.transaction(fn), or the begin() of the outbox store given as options.outbox.`,
        );
      }
      const prepared = await prepareAppend(STORE, stream, expectedVersion, events);
      const data = prepared.map((event) => asJson(stream, event.type, event.data));
      // Wait as a unique index makes a writer wait for another's open insert; from the last
      // check on there is no await, so the version check and the insert are one step.
      for (
        let other = otherWriter(transaction, stream);
        other;
        other = otherWriter(transaction, stream)
      )
        await writing.get(other);
      if (!isOpenTransaction(transaction)) {
        throw new ConfigurationError(`${STORE}: the transaction ended while append() waited.`);
      }
      if (versionSeenBy(stream, transaction) !== expectedVersion) {
        throw new StreamVersionConflictError(stream, expectedVersion, committedVersion(stream));
      }
      join(transaction);
      const recordedAt = new Date().toISOString();
      prepared.forEach((event, i) => {
        rows.push({
          event: {
            stream,
            version: expectedVersion + i + 1,
            position: String(nextPosition++),
            type: event.type,
            schemaVersion: event.schemaVersion,
            data: data[i],
            recordedAt,
          },
          transaction,
          committed: false,
        });
      });
      return { version: expectedVersion + prepared.length };
    },

    async readStream(
      stream,
      { fromVersion = 1, limit, transaction }: ReadStreamOptions<InMemoryTransaction> = {},
    ) {
      assertStreamName(STORE, stream);
      const within = readingIn('readStream()', transaction);
      const events = rows
        .filter((row) => row.event.stream === stream && visible(row, within))
        .map((row) => row.event)
        .filter((event) => event.version >= fromVersion);
      return limit === undefined ? events : events.slice(0, limit);
    },

    async readAll({ after, limit }: ReadAllOptions) {
      const from = parsePosition(after);
      const events: RecordedEvent[] = [];
      for (const row of rows) {
        if (events.length >= limit) break;
        // The fence: nothing after an event whose transaction is still open.
        if (!row.committed) break;
        if (Number(row.event.position) > from) events.push(row.event);
      }
      return events;
    },

    async streamVersion(stream, { transaction } = {}) {
      assertStreamName(STORE, stream);
      return versionSeenBy(stream, readingIn('streamVersion()', transaction));
    },

    transaction: (fn) => outbox.transaction(fn),
  };
}
