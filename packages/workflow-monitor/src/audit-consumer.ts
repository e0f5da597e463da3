// The monitor's side of the wire: it reads the audit batches in its own consumer group and
// ingests them. A batch is acknowledged only after its records were stored; while the store is
// down the batch waits (deferred, so waiting never spends a delivery budget); a batch with
// malformed lines has its good records stored and goes to the dead-letter destination with the
// reason, so nothing is lost and the consumer keeps going.
import { ConfigurationError, describeError, type Subscription, type Transport } from '@eda/core';
import type { Delivery, Disposition } from '@eda/core/adapter';
import { AUDIT_RECORDS_TYPE } from './transport-audit-sink.js';
import type { WorkflowMonitor } from './workflow-monitor.js';

/** Options of `consumeAuditRecords`. */
export interface AuditConsumerOptions {
  readonly transport: Pick<Transport, 'subscribe'>;
  readonly monitor: Pick<WorkflowMonitor, 'ingest'>;
  /** The monitor's consumer group: monitors with one name share the work. @default 'workflow-monitor' */
  readonly name?: string;
  /** The event type batches travel as. @default 'eda.audit.records' */
  readonly type?: string;
  /** Batches ingested at once. @default 4 */
  readonly concurrency?: number;
  /** Longest wait between two tries while the store is down. @default 30000 */
  readonly maxRetryDelayMs?: number;
  /** Told about each batch that could not be stored yet, and each one dead-lettered. @default none */
  readonly onError?: (error: unknown) => void;
}

const FIRST_RETRY_DELAY_MS = 250;

/** A batch's lines: each an encoded record (blank lines ignored). */
function linesOf(delivery: Delivery): string[] | string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(delivery.body);
    return text.split('\n').filter((line) => line.trim() !== '');
  } catch {
    return 'the body is not UTF-8 text';
  }
}

function deadLetter(delivery: Delivery, subscription: string, message: string): Disposition {
  return {
    type: 'dead-letter',
    reason: {
      code: 'EDA_DECODE',
      errorType: 'AuditBatchError',
      message,
      attempts: delivery.attempt,
      subscription,
    },
  };
}

/**
 * Consumes audit batches from `transport` into `monitor` until the subscription is closed.
 * At least once: a batch seen again (a redelivery, a replay) is stored once, by record id.
 * @throws ConfigurationError for a concurrency or delay that is not a positive number.
 */
export async function consumeAuditRecords(options: AuditConsumerOptions): Promise<Subscription> {
  const { transport, monitor, onError = () => undefined } = options;
  const name = options.name ?? 'workflow-monitor';
  const concurrency = options.concurrency ?? 4;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  if (!Number.isSafeInteger(concurrency) || concurrency <= 0)
    throw new ConfigurationError(
      `Audit consumer option concurrency is ${concurrency}: use a positive whole number.`,
    );
  if (!Number.isFinite(maxRetryDelayMs) || maxRetryDelayMs <= 0)
    throw new ConfigurationError(
      `Audit consumer option maxRetryDelayMs is ${maxRetryDelayMs}: use a positive number.`,
    );
  // Deferred retries keep their attempt, so the wait grows with the time the store stayed down.
  const failures = new Map<string, number>();

  const handle = async (delivery: Delivery): Promise<Disposition> => {
    const lines = linesOf(delivery);
    if (typeof lines === 'string')
      return deadLetter(delivery, name, `Audit batch refused: ${lines}.`);
    const key = delivery.attributes.id ?? '';
    let result: Awaited<ReturnType<WorkflowMonitor['ingest']>>;
    try {
      result = await monitor.ingest(lines);
    } catch (error) {
      const failed = (failures.get(key) ?? 0) + 1;
      failures.set(key, failed);
      onError(error);
      const delayMs = Math.min(maxRetryDelayMs, FIRST_RETRY_DELAY_MS * 2 ** (failed - 1));
      return {
        type: 'retry',
        delayMs,
        reason: `the monitor store could not take the batch: ${describeError(error)}`,
        deferred: true,
      };
    }
    failures.delete(key);
    if (!result.refused.length) return { type: 'ack' };
    const reasons = result.refused
      .slice(0, 5)
      .map((refused) => `line ${refused.index + 1}: ${refused.reason}`)
      .join('; ');
    const stored = lines.length - result.refused.length;
    const message = `Audit batch has ${result.refused.length} malformed of ${lines.length} records (the other ${stored} were stored): ${reasons}`;
    onError(new Error(message));
    return deadLetter(delivery, name, message);
  };

  return transport.subscribe(
    { name, kind: 'event', types: [options.type ?? AUDIT_RECORDS_TYPE], concurrency },
    handle,
  );
}
