// The reporter a service runs: a bus observer (and an outbox relay observer) that turns what
// the service did into audit records and ships them to a sink in batches, off the handler's
// path. Losing the monitor never stops or slows the service: records are buffered, bounded,
// and dropped (counted) when the sink cannot keep up.
import { randomUUID } from 'node:crypto';
import {
  type BusObserver,
  ConfigurationError,
  type OutboxRelayObserver,
  UnavailableError,
} from '@eda/core';
import { type AuditSource, auditOfBusEvent, auditOfRelayed } from './audit-of-event.js';
import type { AuditRecord } from './audit-record.js';
import { type BatchSenderStats, createBatchSender } from './batch-sender.js';

/**
 * Where records go: an audit topic or queue, an HTTP call to the monitor, or the monitor's
 * `ingest` in one process. Resolving means the records are safe; rejecting means they are
 * sent again later.
 */
export type AuditSink = (records: readonly AuditRecord[]) => Promise<void>;

/** Options of `createAuditReporter`. */
export interface AuditReporterOptions {
  /** The reporting service's name, as its records name it. */
  readonly service: string;
  readonly sink: AuditSink;
  /** Records held while the sink is slow or down; beyond it new records are dropped. @default 10000 */
  readonly maxBuffered?: number;
  /** Records per sink call. @default 200 */
  readonly batchSize?: number;
  /** How long a record may wait for others to fill a batch. @default 100 */
  readonly flushDelayMs?: number;
  /** First wait after a failed sink call; doubles up to `maxBackoffMs`. @default 200 */
  readonly initialBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
  /** Told about each failed sink call and each time the buffer starts dropping. @default none */
  readonly onError?: (error: unknown) => void;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Record ids. @default crypto.randomUUID */
  readonly newId?: () => string;
}

/** A running reporter; made by `createAuditReporter`. */
export interface AuditReporter {
  /** Pass to `createBus({ observers: [reporter.observe] })`. Never throws, never waits. */
  readonly observe: BusObserver;
  /** Pass to `createOutboxRelay({ observers: [reporter.observeRelay] })`: outbox messages count as published from here. */
  readonly observeRelay: OutboxRelayObserver;
  /** Resolves once every record buffered now reached the sink (retrying until it did). */
  flush(): Promise<void>;
  /**
   * Stops taking records and flushes for up to `timeoutMs` (@default 10000); what is still
   * unsent then is dropped and counted.
   */
  close(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Buffered, sent and dropped records, and failed sink calls, so far. */
  stats(): BatchSenderStats;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigurationError(
      `Audit reporter option ${name} is ${value}: use a positive number.`,
    );
  return value;
}

/**
 * Creates an audit reporter for one service. Records reach the sink at least once (a batch
 * leaves the buffer only when the sink resolved; the monitor drops repeats by record id); an
 * outbox write is reported only once a relay published it.
 * @throws ConfigurationError when `service` is empty or a numeric option is not positive.
 */
export function createAuditReporter(options: AuditReporterOptions): AuditReporter {
  const { service, sink, onError = () => undefined } = options;
  if (typeof service !== 'string' || service === '')
    throw new ConfigurationError('Audit reporter option service is empty: name the service.');
  const maxBuffered = positive('maxBuffered', options.maxBuffered ?? 10_000);
  const sender = createBatchSender<AuditRecord>({
    send: (records) =>
      sink(records).catch((error: unknown) => {
        throw new UnavailableError(
          `Audit reporter of "${service}": the sink refused ${records.length} records; they stay buffered and are sent again after a backoff.`,
          { cause: error },
        );
      }),
    maxBuffered,
    batchSize: positive('batchSize', options.batchSize ?? 200),
    delayMs: positive('flushDelayMs', options.flushDelayMs ?? 100),
    initialBackoffMs: positive('initialBackoffMs', options.initialBackoffMs ?? 200),
    maxBackoffMs: positive('maxBackoffMs', options.maxBackoffMs ?? 30_000),
    onError,
    dropError: () =>
      new UnavailableError(
        `Audit reporter of "${service}": ${maxBuffered} records wait for the sink, so new records are dropped (see stats().dropped) until it catches up.`,
      ),
  });
  const source: AuditSource = {
    service,
    now: options.clock ?? Date.now,
    newId: options.newId ?? randomUUID,
  };
  return {
    observe(event) {
      try {
        const record = auditOfBusEvent(source, event);
        if (record) sender.add(record);
      } catch (error) {
        onError(error);
      }
    },
    observeRelay(messages) {
      try {
        for (const message of messages) sender.add(auditOfRelayed(source, message.attributes));
      } catch (error) {
        onError(error);
      }
    },
    flush: () => sender.flush(),
    close: ({ timeoutMs = 10_000 } = {}) => sender.close(timeoutMs),
    stats: () => sender.stats(),
  };
}
