// The event store contract: a service keeps its own state as streams of domain events, appended
// with an expected version (optimistic concurrency) inside the caller's transaction, read back
// per stream, and read across all streams in one global order that a projection can follow
// without ever skipping an event that committed late.
import type { NewDomainEvent } from '../domain-event.js';

/** What an event store can do. */
export interface EventStoreCapabilities {
  /** Events survive a restart of the client process. */
  readonly persistent: boolean;
}

/** An event as stored: its stream, its version in the stream, its global position, its data. */
export interface RecordedEvent {
  /** The stream (aggregate) id. */
  readonly stream: string;
  /** Its version in the stream: 1 for the first event, then 2, 3... with no gap. */
  readonly version: number;
  /**
   * Where it stands in the global order of all streams: an opaque string. Give the position of
   * the last event you handled to `readAll({ after })` to go on from there.
   */
  readonly position: string;
  /** The domain event type name. */
  readonly type: string;
  /** The version of the definition's data shape when the event was appended. */
  readonly schemaVersion: number;
  /** The data as appended (after the schema's validation), a JSON value. */
  readonly data: unknown;
  /** When the event was appended, RFC 3339. */
  readonly recordedAt: string;
}

/** Options of `EventStore.readStream`. */
export interface ReadStreamOptions<TTransaction = unknown>
  extends TransactionalReadOptions<TTransaction> {
  /** The first version to read. @default 1 */
  readonly fromVersion?: number;
  /** At most this many events. @default no limit */
  readonly limit?: number;
}

/** Where a read of one stream runs: committed state, or through the caller's open transaction. */
export interface TransactionalReadOptions<TTransaction = unknown> {
  /**
   * Read through this open transaction of the store: the result includes the transaction's own
   * appends, and the read takes no other connection. Load a stream this way when you decide and
   * append in one transaction (a handler's): a read outside it needs a second pooled connection
   * while the transaction holds one, so as many concurrent handlers as the pool has connections
   * would wait on each other for ever.
   * @default committed events only, read on a connection of the store's own
   */
  readonly transaction?: TTransaction;
}

/** Options of `EventStore.readAll`. */
export interface ReadAllOptions {
  /** Read the events after this position (a `RecordedEvent.position`). @default the beginning */
  readonly after?: string;
  /** At most this many events. */
  readonly limit: number;
}

/** The result of an append. */
export interface AppendResult {
  /** The stream's version after the append: the expected version plus the events appended. */
  readonly version: number;
}

/** Where a service keeps its domain events. `TTransaction` is the caller's transaction handle. */
export interface EventStore<TTransaction = unknown> {
  readonly capabilities: EventStoreCapabilities;
  /**
   * Appends `events` to `stream` inside the caller's transaction, as versions
   * `expectedVersion + 1`, `+ 2`...: they exist if and only if the transaction commits. Data is
   * validated by each definition's Standard Schema before anything is written.
   *
   * Optimistic concurrency: `expectedVersion` is the version the caller read (0 for a new
   * stream). Of concurrent appends to one stream at one expected version, exactly one commits.
   * @throws StreamVersionConflictError when the stream is not at `expectedVersion` (another
   * writer appended first, or the stream is shorter): nothing was appended; roll back.
   * @throws ValidationError for data its schema refuses (nothing written);
   * ConfigurationError when `transaction` is not an open transaction of this store, or for a
   * bad stream name or version.
   */
  append(
    transaction: TTransaction,
    stream: string,
    expectedVersion: number,
    events: readonly NewDomainEvent[],
  ): Promise<AppendResult>;
  /**
   * The committed events of `stream` in version order (none for a stream that does not exist);
   * with `options.transaction`, also those the transaction appended.
   * @throws ConfigurationError when `options.transaction` is not an open transaction of this
   * store, or for a bad stream name or limit.
   */
  readStream(stream: string, options?: ReadStreamOptions<TTransaction>): Promise<RecordedEvent[]>;
  /**
   * Committed events of every stream in the global order, after `after`. The order never
   * changes once read and has no gap from late commits: an event whose transaction is still
   * open holds back the events after it (they come in a later read). Within a stream the global
   * order is the version order.
   */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * The committed version of `stream`: its number of events, 0 when it does not exist; with
   * `options.transaction`, counting the transaction's own appends.
   */
  streamVersion(stream: string, options?: TransactionalReadOptions<TTransaction>): Promise<number>;
  /**
   * Runs `fn` in a new transaction of the store's database: committed if `fn` resolves, rolled
   * back if it throws. Pass the handle to `append` and to the outbox (`bus.publish(..., {
   * transaction })`) to write both atomically.
   */
  transaction<T>(fn: (transaction: TTransaction) => Promise<T>): Promise<T>;
}
