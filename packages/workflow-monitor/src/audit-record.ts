// The audit record: one thing one service did to one message, as services report it and the
// monitor stores it. Versioned JSON, no payload; decoding refuses a malformed record with the
// reason instead of throwing, so one bad record never stops the monitor.

/** The version `encodeAuditRecord` writes and `decodeAuditRecord` accepts. */
export const AUDIT_RECORD_VERSION = 1;

/** What a service did to a message. */
export const AUDIT_ACTIONS = [
  'published',
  'sent',
  'relayed',
  'handled',
  'duplicate-skipped',
  'stale-skipped',
  'ignored',
  'retried',
  'dead-lettered',
  'lease-lost',
  'redriven',
  'discarded',
] as const;

/**
 * What a service did to a message: `published` (event) and `sent` (command) straight to the
 * transport; `relayed`: an outbox relay published it, so its transaction had committed; the
 * consumer outcomes `handled`, `duplicate-skipped`, `stale-skipped`, `ignored`; `retried`;
 * `dead-lettered`; `lease-lost` (the idempotency lease ended before the handler did); an
 * operator's `redriven` and `discarded` (of a dead letter, by the monitor's dead-letter desk).
 */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One thing one service did to one message. */
export interface AuditRecord {
  /** Unique per record: the monitor stores a record once, however often it arrives. */
  readonly id: string;
  readonly action: AuditAction;
  /** The service that acted. */
  readonly service: string;
  /** The subscription that consumed the message (consumer actions). */
  readonly subscription?: string;
  readonly messageId: string;
  /** The message type, such as `payment.completed`. */
  readonly type: string;
  /** The flow the message belongs to (the message's correlation id, else its own id). */
  readonly correlationId: string;
  /** The id of the message whose handling produced this one. */
  readonly causationId?: string;
  /** Delivery attempt (consumer actions), from 1. */
  readonly attempt?: number;
  /** When it happened (epoch ms); for a handled message, when its handling began. */
  readonly at: number;
  /** How long the handling took (consumer actions). */
  readonly durationMs?: number;
  /** Why: the error of a retry or dead letter. */
  readonly reason?: string;
}

/** The outcome of `decodeAuditRecord`: the record, or why it was refused. */
export type AuditRecordDecoding =
  | { readonly ok: true; readonly record: AuditRecord }
  | { readonly ok: false; readonly reason: string };

const ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);
const REQUIRED_TEXT = ['id', 'service', 'messageId', 'type', 'correlationId'] as const;
const OPTIONAL_TEXT = ['subscription', 'causationId', 'reason'] as const;
/** Longest accepted text field: records stay compact, and a runaway field is refused. */
export const MAX_AUDIT_TEXT_LENGTH = 2000;

/** Encodes a record as one line of JSON with its version (`v`). */
export function encodeAuditRecord(record: AuditRecord): string {
  return JSON.stringify({ v: AUDIT_RECORD_VERSION, ...record });
}

/**
 * Decodes and checks a record: JSON text, its UTF-8 bytes, or an object already parsed. Never
 * throws: a malformed record comes back as `{ ok: false, reason }`. Fields this version does not
 * know are dropped, so a newer reporter's additions do not break an older monitor.
 */
export function decodeAuditRecord(input: unknown): AuditRecordDecoding {
  let value = input;
  if (input instanceof Uint8Array) value = new TextDecoder().decode(input);
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      return refuse(`it is not JSON (${(error as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return refuse('it is not a JSON object');
  const fields = value as Record<string, unknown>;
  if (fields.v !== undefined && fields.v !== AUDIT_RECORD_VERSION)
    return refuse(`version ${JSON.stringify(fields.v)} is not ${AUDIT_RECORD_VERSION}`);
  const problem = problemOf(fields);
  return problem ? refuse(problem) : { ok: true, record: pick(fields) };
}

function refuse(why: string): AuditRecordDecoding {
  return { ok: false, reason: `Audit record refused: ${why}.` };
}

function problemOf(fields: Record<string, unknown>): string | undefined {
  for (const name of REQUIRED_TEXT) {
    const text = fields[name];
    if (typeof text !== 'string' || text === '') return `${name} must be a non-empty string`;
  }
  for (const name of [...REQUIRED_TEXT, ...OPTIONAL_TEXT]) {
    const text = fields[name];
    if (text !== undefined && typeof text !== 'string') return `${name} must be a string`;
    if (typeof text === 'string' && text.length > MAX_AUDIT_TEXT_LENGTH)
      return `${name} is longer than ${MAX_AUDIT_TEXT_LENGTH} characters`;
  }
  if (typeof fields.action !== 'string' || !ACTIONS.has(fields.action))
    return `action ${JSON.stringify(fields.action)} is not one of ${AUDIT_ACTIONS.join(', ')}`;
  if (!isWhole(fields.at, 0)) return 'at must be a whole number of epoch milliseconds';
  if (fields.attempt !== undefined && !isWhole(fields.attempt, 1))
    return 'attempt must be a whole number from 1';
  if (fields.durationMs !== undefined && !isWhole(fields.durationMs, 0))
    return 'durationMs must be a whole number from 0';
  return undefined;
}

function isWhole(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/** The record's known fields only, without `v` or anything unknown. */
function pick(fields: Record<string, unknown>): AuditRecord {
  const record: Record<string, unknown> = {};
  for (const name of [
    'id',
    'action',
    'service',
    'subscription',
    'messageId',
    'type',
    'correlationId',
    'causationId',
    'attempt',
    'at',
    'durationMs',
    'reason',
  ]) {
    if (fields[name] !== undefined) record[name] = fields[name];
  }
  return record as unknown as AuditRecord;
}
