// The monitor store contract: durable audit records and flow summaries. The store knows nothing
// of workflows: the monitor hands it a `derive` function, and the store guarantees each flow is
// derived from everything committed for it, one writer at a time.
import type { AuditRecord } from './audit-record.js';
import type { DeriveFlow, FlowState, FlowSummary } from './flow-summary.js';

/** What a monitor store can do. */
export interface MonitorStoreCapabilities {
  /** Records, summaries and noticed deadlines survive a restart of the monitor. */
  readonly persistent: boolean;
}

/** A flow before and after an `update`. */
export interface FlowChange {
  /** Undefined when the flow was new. */
  readonly previous: FlowSummary | undefined;
  readonly next: FlowSummary;
}

/** Filters of `MonitorStore.flows`. */
export interface FlowQuery {
  /** @default every state */
  readonly state?: FlowState;
  /** @default every workflow */
  readonly workflow?: string;
  /** At most this many. @default 100 */
  readonly limit?: number;
}

/** Options of `MonitorStore.purge`. */
export interface MonitorPurgeOptions {
  /** Flows completed (or, if `unmatched`, last seen) before this time (epoch ms) go. */
  readonly before: number;
  /** At most this many flows in this call: one bounded statement. */
  readonly limit: number;
}

/** Where a workflow monitor keeps audit records and flow summaries. */
export interface MonitorStore {
  readonly capabilities: MonitorStoreCapabilities;
  /**
   * Stores the records whose id it does not hold yet (a repeat, in this call or an earlier one,
   * changes nothing) and, in the same atomic step, re-derives with `derive` every flow that got
   * a new record. Two monitors ingesting at once lose nothing: each flow is derived from all
   * records committed for it, one derivation at a time.
   * @returns how many records were new.
   */
  ingest(records: readonly AuditRecord[], derive: DeriveFlow): Promise<number>;
  /**
   * Re-derives the named flows, each atomically against concurrent `ingest` and `update`
   * calls: `derive` sees the latest summary as `previous`. Flows the store does not hold are
   * skipped.
   * @returns each flow's summary before and after.
   */
  update(correlationIds: readonly string[], derive: DeriveFlow): Promise<FlowChange[]>;
  /** A flow's records in timeline order (time, then record id); empty when unknown. */
  timeline(correlationId: string): Promise<AuditRecord[]>;
  /** A flow's summary, or undefined. */
  summary(correlationId: string): Promise<FlowSummary | undefined>;
  /** Summaries matching `query`, most recently active first (then by correlation id). */
  flows(query?: FlowQuery): Promise<FlowSummary[]>;
  /** Correlation ids of flows whose `dueAt` is at or before `now`, earliest due first. */
  due(now: number, limit: number): Promise<string[]>;
  /**
   * Deletes up to `limit` flows, with their records, that completed before `before`, or are
   * `unmatched` and were last active before it. Running, stuck and failed flows stay.
   * @returns how many flows it deleted: fewer than `limit` means none is left.
   */
  purge(options: MonitorPurgeOptions): Promise<number>;
}
