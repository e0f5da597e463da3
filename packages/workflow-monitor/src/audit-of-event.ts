// Turns what a bus or a relay reports into audit records. An outbox write is not turned into
// anything: its transaction may still roll back, so only the relay's report counts.
import type { BusEvent, EnvelopeAttributes } from '@eda/core';
import type { AuditAction, AuditRecord } from './audit-record.js';

/** A reason is cut to this length: records stay compact. */
const MAX_REASON = 500;

const CONSUMED: Readonly<Record<string, AuditAction>> = {
  handled: 'handled',
  duplicate: 'duplicate-skipped',
  stale: 'stale-skipped',
  ignored: 'ignored',
};

/** Who reports, and how its records get ids and times. */
export interface AuditSource {
  readonly service: string;
  readonly now: () => number;
  readonly newId: () => string;
}

/** The record of one message and action by `service`; the fields every action shares. */
function recordOf(
  source: AuditSource,
  service: string,
  action: AuditAction,
  message: EnvelopeAttributes,
  details: Partial<AuditRecord> = {},
): AuditRecord {
  return {
    id: source.newId(),
    action,
    service,
    messageId: message.id,
    type: message.type,
    correlationId: message.correlationid ?? message.id,
    ...(message.causationid === undefined ? {} : { causationId: message.causationid }),
    at: source.now(),
    ...details,
  };
}

/** When the message was created (its `time`), or `now` when it has no usable time. */
function createdAt(message: EnvelopeAttributes, now: number): number {
  const time = message.time === undefined ? Number.NaN : Date.parse(message.time);
  return Number.isSafeInteger(time) && time >= 0 && time <= now ? time : now;
}

const cut = (reason: string) => (reason.length > MAX_REASON ? reason.slice(0, MAX_REASON) : reason);

/**
 * The audit record of a bus event, or undefined: for an outbox write (the relay reports it once
 * published) and for an event without a decodable message (it belongs to no flow).
 */
export function auditOfBusEvent(source: AuditSource, event: BusEvent): AuditRecord | undefined {
  const message = event.message;
  if (!message) return undefined;
  // The bus names its service: one reporter can serve every bus of a process.
  const { service } = event;
  switch (event.kind) {
    case 'published':
      if (event.via === 'outbox') return undefined;
      // At the message's creation: the bus reports a publish once the broker accepted it, and
      // a fast consumer may have begun handling it before that.
      return recordOf(source, service, message.kind === 'command' ? 'sent' : 'published', message, {
        at: createdAt(message, source.now()),
      });
    case 'consumed': {
      const at = Math.floor(event.startedAt);
      return recordOf(source, service, CONSUMED[event.outcome] ?? 'handled', message, {
        subscription: event.subscription,
        attempt: event.attempt,
        at,
        durationMs: Math.max(0, source.now() - at),
      });
    }
    case 'retry':
      return recordOf(source, service, 'retried', message, {
        subscription: event.subscription,
        attempt: event.attempt,
        reason: cut(event.reason),
      });
    case 'dead-lettered':
      return recordOf(source, service, 'dead-lettered', message, {
        subscription: event.subscription,
        attempt: Math.max(1, event.reason.attempts),
        reason: cut(`${event.reason.code}: ${event.reason.message}`),
      });
    case 'lease-lost':
      return recordOf(source, service, 'lease-lost', message, { subscription: event.subscription });
  }
}

/**
 * The record of a message an outbox relay published. Its time is when the message was written
 * (its `time` attribute), so it stands before its handling in the timeline even when a fast
 * broker delivered it before the relay heard back; `durationMs` is how long it waited in the
 * outbox. Its service is the message's `source`, the service that wrote it (a relay publishes
 * for the services that share its outbox), else the reporter's.
 */
export function auditOfRelayed(source: AuditSource, message: EnvelopeAttributes): AuditRecord {
  const now = source.now();
  const at = createdAt(message, now);
  return recordOf(source, message.source || source.service, 'relayed', message, {
    at,
    durationMs: now - at,
  });
}
