// Turns messages into outbox rows and rows back into messages. Encoding checks everything the
// database would reject later (a NUL character cannot be stored in jsonb), so a bad message fails
// the caller's add() with a clear error instead of aborting their transaction.
import { DecodeError, EncodeError, type EnvelopeAttributes, type OutgoingMessage } from '@eda/core';
import {
  attributesToStrings,
  childTraceparent,
  currentMessageContext,
  newTraceparent,
  type OutboxRecord,
  parseAttributes,
} from '@eda/core/adapter';

/** Column values of one row to insert. */
export interface OutboxRowValues {
  readonly id: string;
  readonly type: string;
  readonly aggregateid: string | null;
  readonly payload: Buffer;
  readonly headers: string;
  readonly kind: string;
}

/** A row as the claim returns it. */
export interface ClaimedRow {
  readonly seq: string;
  readonly txid: string;
  readonly payload: unknown;
  readonly headers: unknown;
  readonly attempts: number;
  /** The id of the lease row that holds the row (lease mode), null in lock mode. */
  readonly claim_id?: string | null;
}

function withTraceContext(attributes: EnvelopeAttributes): EnvelopeAttributes {
  if (attributes.traceparent !== undefined) return attributes;
  // Messages built by the bus already carry the trace context of the moment they were published;
  // raw add() calls get it here, inside the writer's transaction.
  const parent = currentMessageContext();
  return {
    ...attributes,
    traceparent: parent ? childTraceparent(parent.traceparent) : newTraceparent(),
    ...(parent?.tracestate === undefined ? {} : { tracestate: parent.tracestate }),
  };
}

/**
 * The row of one message.
 * @throws EncodeError when the message is not a valid envelope or cannot be stored.
 */
export function encodeMessage(message: OutgoingMessage): OutboxRowValues {
  if (!message || typeof message !== 'object' || !message.attributes) {
    throw new EncodeError('postgres-outbox: add() got something that is not an OutgoingMessage.');
  }
  const { body } = message;
  if (!(body instanceof Uint8Array)) {
    throw new EncodeError(
      `postgres-outbox: message ${String(message.attributes.id)} has a body of type ${typeof body}: the body must be a Uint8Array (encode the data first, or publish through the bus).`,
    );
  }
  let strings: Record<string, string>;
  try {
    const attributes = withTraceContext(message.attributes);
    strings = attributesToStrings(attributes);
    parseAttributes(strings); // the relay must be able to read back what is written
  } catch (cause) {
    throw new EncodeError(
      `postgres-outbox: message ${String(message.attributes.id)} has invalid attributes: ${(cause as Error).message}`,
      { cause },
    );
  }
  for (const [name, value] of Object.entries(strings)) {
    if (value.includes('\u0000')) {
      throw new EncodeError(
        `postgres-outbox: attribute "${name}" of message ${strings.id} contains a NUL character, which PostgreSQL cannot store in jsonb.`,
      );
    }
  }
  return {
    id: strings.id!,
    type: strings.type!,
    aggregateid: strings.partitionkey ?? null,
    payload: Buffer.isBuffer(body)
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    headers: JSON.stringify(strings),
    kind: strings.kind ?? 'event',
  };
}

/**
 * The record of a claimed row.
 * @throws DecodeError when the row does not hold a valid envelope (the store dead-letters it).
 */
export function decodeRow(row: ClaimedRow): OutboxRecord {
  const { headers, payload } = row;
  if (!headers || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new DecodeError(`Outbox row ${row.seq}: headers is not a JSON object of attributes.`);
  }
  const raw: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new DecodeError(`Outbox row ${row.seq}: header "${name}" is not a string.`);
    }
    raw[name] = String(value);
  }
  const attributes = parseAttributes(raw);
  if (!(payload instanceof Uint8Array)) {
    throw new DecodeError(`Outbox row ${row.seq}: payload is not bytea.`);
  }
  return {
    recordId: row.seq,
    message: { attributes, body: payload },
    attempts: row.attempts,
    ...(row.claim_id ? { claimId: row.claim_id } : {}),
  };
}
