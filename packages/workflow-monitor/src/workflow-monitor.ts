// The workflow monitor: ingests audit records from every service into a store, derives each
// flow's state from the declared workflows, and announces each missed deadline once.
import { ConfigurationError } from '@eda/core';
import { type AuditRecord, decodeAuditRecord } from './audit-record.js';
import { deriveFlow, newlyPassed } from './derive-flow.js';
import type { FlowSummary, PassedDeadline } from './flow-summary.js';
import type { FlowQuery, MonitorStore } from './monitor-store.js';
import { catalogOf, type WorkflowDefinition } from './workflow-definition.js';

/** Announced once per deadline a flow missed: alert on it, or compensate. */
export interface WorkflowStuck {
  readonly kind: 'workflow.stuck';
  readonly workflow: string;
  readonly correlationId: string;
  readonly startedAt: number;
  /** The deadline, the step it waited for and the service expected to act, the missing end types. */
  readonly deadline: PassedDeadline;
}

/** Options of `createWorkflowMonitor`. */
export interface WorkflowMonitorOptions {
  readonly store: MonitorStore;
  readonly workflows: readonly WorkflowDefinition[];
  /**
   * Called once per missed deadline per flow, after the store recorded that it was noticed (so
   * a restarted monitor, or a second one, does not call it again). At most once: a monitor
   * that dies between the store's commit and this call does not announce that deadline.
   * @default none
   */
  readonly onStuck?: (stuck: WorkflowStuck) => void | Promise<void>;
  /** Told when `onStuck` throws or rejects. @default none */
  readonly onError?: (error: unknown) => void;
  /** The time `evaluate` uses when given none. @default Date.now */
  readonly clock?: () => number;
  /** Flows per store call in `evaluate`. @default 100 */
  readonly batchSize?: number;
}

/** A record `ingest` refused. */
export interface RefusedRecord {
  /** Its position in the `ingest` call. */
  readonly index: number;
  readonly reason: string;
}

/** What `ingest` did. */
export interface IngestResult {
  /** Records stored for the first time. */
  readonly stored: number;
  /** Records the store already held (or repeated in the call). */
  readonly duplicates: number;
  /** Malformed records, not stored. */
  readonly refused: readonly RefusedRecord[];
}

/** One flow: its summary and its records in order. */
export interface FlowView {
  readonly summary: FlowSummary;
  readonly timeline: readonly AuditRecord[];
}

/** A running monitor; made by `createWorkflowMonitor`. */
export interface WorkflowMonitor {
  /**
   * Stores records (decoded, encoded as JSON text or bytes) and updates their flows. A record
   * seen before changes nothing; a malformed one is refused with its reason, never thrown.
   * @throws what the store throws (nothing is lost: ingest the same batch again).
   */
  ingest(records: readonly unknown[]): Promise<IngestResult>;
  /**
   * Notices the deadlines passed by `now` (@default the clock), marks the flows stuck, and
   * calls `onStuck` once for each deadline noticed now. Run it on a timer.
   * @returns the deadlines noticed by this call.
   */
  evaluate(now?: number): Promise<WorkflowStuck[]>;
  /** One flow's summary and timeline, or undefined. */
  flow(correlationId: string): Promise<FlowView | undefined>;
  /** Flows by state and workflow, most recently active first. */
  flows(query?: FlowQuery): Promise<FlowSummary[]>;
  /**
   * Deletes flows completed (or, unmatched, last active) more than `olderThanMs` ago, `limit`
   * per store call, until none is left.
   * @returns how many flows it deleted.
   */
  purge(options: { readonly olderThanMs: number; readonly limit?: number }): Promise<number>;
}

/**
 * Creates a workflow monitor over `store` for the declared `workflows`.
 * @throws ConfigurationError when two workflows share a name or a start type, or `batchSize`
 * is not a positive whole number.
 */
export function createWorkflowMonitor(options: WorkflowMonitorOptions): WorkflowMonitor {
  const { store, onStuck, onError = () => undefined, clock = Date.now } = options;
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0)
    throw new ConfigurationError(
      `Workflow monitor option batchSize is ${batchSize}: use a positive whole number.`,
    );
  const catalog = catalogOf(options.workflows);
  const derive = (input: Parameters<typeof deriveFlow>[1]) => deriveFlow(catalog, input);

  const announce = async (stuck: WorkflowStuck) => {
    try {
      await onStuck?.(stuck);
    } catch (error) {
      onError(error);
    }
  };

  return {
    async ingest(inputs) {
      const refused: RefusedRecord[] = [];
      const unique = new Map<string, AuditRecord>();
      for (const [index, input] of inputs.entries()) {
        const decoded = decodeAuditRecord(input);
        if (!decoded.ok) refused.push({ index, reason: decoded.reason });
        else unique.set(decoded.record.id, decoded.record);
      }
      const stored = unique.size ? await store.ingest([...unique.values()], derive) : 0;
      return { stored, duplicates: inputs.length - refused.length - stored, refused };
    },

    async evaluate(now = clock()) {
      const noticed: WorkflowStuck[] = [];
      for (;;) {
        const due = await store.due(now, batchSize);
        if (!due.length) break;
        const changes = await store.update(due, (input) => deriveFlow(catalog, input, now));
        for (const { previous, next } of changes) {
          for (const deadline of newlyPassed(previous, next)) {
            noticed.push({
              kind: 'workflow.stuck',
              workflow: next.workflow!,
              correlationId: next.correlationId,
              startedAt: next.startedAt!,
              deadline,
            });
          }
        }
        // Every due flow moves its dueAt past `now`; a short batch means none is left, and a
        // batch the store could not update (flows purged meanwhile) is not asked for again.
        if (due.length < batchSize || !changes.length) break;
      }
      for (const stuck of noticed) await announce(stuck);
      return noticed;
    },

    async flow(correlationId) {
      const [summary, timeline] = await Promise.all([
        store.summary(correlationId),
        store.timeline(correlationId),
      ]);
      return summary && { summary, timeline };
    },

    flows: (query) => store.flows(query),

    async purge({ olderThanMs, limit = 1000 }) {
      const before = clock() - olderThanMs;
      let total = 0;
      for (;;) {
        const purged = await store.purge({ before, limit });
        total += purged;
        if (purged < limit) return total;
      }
    },
  };
}
