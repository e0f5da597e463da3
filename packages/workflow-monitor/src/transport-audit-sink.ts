// Audit records on the wire: a sink that publishes each batch as one event on the services'
// own transport (Kafka, RabbitMQ, in memory), so the monitor can run in any other process and
// read them in its own consumer group. The batch is published straight to the transport, not
// through a bus, so it is never audited itself.
import { randomUUID } from 'node:crypto';
import { ConfigurationError, type OutgoingMessage, type Transport } from '@eda/core';
import { type AuditRecord, encodeAuditRecord } from './audit-record.js';
import type { AuditSink } from './audit-reporter.js';

/** The event type audit batches travel as, unless told otherwise. */
export const AUDIT_RECORDS_TYPE = 'eda.audit.records';

/** The content type of a batch: one encoded record per line. */
export const AUDIT_RECORDS_CONTENT_TYPE = 'application/x-ndjson';

/** Options of `createTransportAuditSink`. */
export interface TransportAuditSinkOptions {
  /** The transport the service already publishes its events on. */
  readonly transport: Pick<Transport, 'publish'>;
  /** The reporting service: the batch's `source` and partition key. */
  readonly service: string;
  /** The event type (and so the topic or exchange) of batches. @default 'eda.audit.records' */
  readonly type?: string;
}

/** One batch as the event that carries it. */
export function auditBatchMessage(
  service: string,
  records: readonly AuditRecord[],
  type = AUDIT_RECORDS_TYPE,
): OutgoingMessage {
  return {
    attributes: {
      id: randomUUID(),
      type,
      source: service,
      specversion: '1.0',
      kind: 'event',
      time: new Date().toISOString(),
      datacontenttype: AUDIT_RECORDS_CONTENT_TYPE,
      // One service's batches in order on a partitioned log; order does not matter to the
      // monitor, which derives every flow from all its records.
      partitionkey: service,
    },
    body: new TextEncoder().encode(records.map(encodeAuditRecord).join('\n')),
  };
}

/**
 * An audit sink that publishes each batch of records as one event on `transport`. It resolves
 * once the broker accepted the batch (the reporter then drops it from its buffer) and rejects
 * otherwise (the reporter sends it again).
 * @throws ConfigurationError when `service` is empty.
 */
export function createTransportAuditSink(options: TransportAuditSinkOptions): AuditSink {
  const { transport, service, type = AUDIT_RECORDS_TYPE } = options;
  if (typeof service !== 'string' || service === '')
    throw new ConfigurationError('Transport audit sink option service is empty: name the service.');
  return (records) => transport.publish([auditBatchMessage(service, records, type)]);
}
