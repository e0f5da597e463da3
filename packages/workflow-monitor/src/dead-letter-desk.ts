// The operator's dead-letter desk: a transport's dead-letter admin, with every redrive and
// discard recorded in the monitor as an audit record of the message's flow, so the flow's
// timeline and diagram show who sent it back and when.
import type {
  DeadLetter,
  DeadLetterAdmin,
  DeadLetterListOptions,
  RedriveSelection,
} from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import type { AuditRecord } from './audit-record.js';
import type { WorkflowMonitor } from './workflow-monitor.js';

/** Options of `createDeadLetterDesk`. */
export interface DeadLetterDeskOptions {
  /** The transport's admin (`createKafkaDeadLetterAdmin`, `createRabbitMqDeadLetterAdmin`, ...). */
  readonly admin: DeadLetterAdmin;
  /** Where redrives and discards are recorded. */
  readonly monitor: Pick<WorkflowMonitor, 'ingest'>;
  /** Who acts, as the records' service. @default 'eda-monitor' */
  readonly operator?: string;
  readonly clock?: () => number;
}

/** Dead letters of subscriptions, and the operator's actions on them (recorded). */
export interface DeadLetterDesk {
  list(subscription: string, options?: DeadLetterListOptions): Promise<DeadLetter[]>;
  get(subscription: string, handle: string): Promise<DeadLetter | undefined>;
  /** Redrives, then records one `redriven` record per message sent back. */
  redrive(subscription: string, selection: RedriveSelection): Promise<DeadLetter[]>;
  /** Discards, then records it; false when the handle names no dead letter. */
  discard(subscription: string, handle: string): Promise<boolean>;
}

export function createDeadLetterDesk(options: DeadLetterDeskOptions): DeadLetterDesk {
  const { admin, monitor, operator = 'eda-monitor', clock = Date.now } = options;
  // The action is recorded after it happened (a failure to record leaves the action done and
  // is thrown, so the operator sees that the timeline lacks it), at the time it began: a
  // redriven message can be handled again before the admin's call returns.
  const record = async (
    action: 'redriven' | 'discarded',
    deadLetters: readonly DeadLetter[],
    at: number,
  ) => {
    if (!deadLetters.length) return;
    const records: AuditRecord[] = deadLetters.map((d) => ({
      id: uuidv7(),
      action,
      service: operator,
      subscription: d.subscription,
      messageId: d.attributes.id ?? d.handle,
      type: d.attributes.type ?? 'unknown',
      correlationId: d.attributes.correlationid ?? d.attributes.id ?? d.handle,
      at,
      reason: `${action} dead letter ${d.handle} (${d.reason.code}: ${d.reason.message})`,
    }));
    await monitor.ingest(records);
  };
  return {
    list: (subscription, listOptions) => admin.list(subscription, listOptions),
    get: (subscription, handle) => admin.get(subscription, handle),
    async redrive(subscription, selection) {
      const at = clock();
      const redriven = await admin.redrive(subscription, selection);
      await record('redriven', redriven, at);
      return redriven;
    },
    async discard(subscription, handle) {
      const at = clock();
      const deadLetter = await admin.get(subscription, handle);
      if (!deadLetter || !(await admin.discard(subscription, handle))) return false;
      await record('discarded', [deadLetter], at);
      return true;
    },
  };
}
