// The message envelope: CloudEvents 1.0 attributes plus the extensions this toolkit uses.
import { DecodeError } from './errors.js';

/** Whether a message announces a fact (event, many or no subscribers) or asks one owner to act (command). */
export type MessageKind = 'event' | 'command';

/**
 * Envelope attributes, aligned with CloudEvents 1.0 so any CloudEvents reader understands them.
 * `source` + `id` identify a message: that pair is the dedupe key.
 */
export interface EnvelopeAttributes {
  /** Unique per source. UUIDv7 by default. */
  readonly id: string;
  /** The message type name, such as `payment.completed`. */
  readonly type: string;
  /** The boundary (service) that produced the message, as a URI-reference such as `payments`. */
  readonly source: string;
  /** Always `1.0`. */
  readonly specversion: '1.0';
  /** When the fact happened or the command was issued, RFC 3339. */
  readonly time?: string;
  /** What the message is about inside the source, such as an order id. */
  readonly subject?: string;
  /** Media type of `data`, such as `application/json`. */
  readonly datacontenttype?: string;
  /** Identifies the data's schema and version, such as `urn:eda:payment.completed:v2`. */
  readonly dataschema?: string;
  /** event | command. */
  readonly kind: MessageKind;
  /** Shared by every message of one workflow; the first message's id by default. */
  readonly correlationid?: string;
  /** The id of the message whose handling produced this one. */
  readonly causationid?: string;
  /** Routes messages with equal keys to one partition, which keeps their order. */
  readonly partitionkey?: string;
  /** Claim-check reference: the data lives in a payload store (see `formatDataRef`). */
  readonly dataref?: string;
  /**
   * Entity version for entity-changed events: consumers apply only newer versions. An integer
   * from 0 to `MAX_ENTITY_VERSION` (the CloudEvents Integer range).
   */
  readonly version?: number;
  /** W3C trace context of the producer. */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/**
 * The highest entity version: 2^31 - 1, the top of the CloudEvents Integer type. A bound keeps
 * a runaway version (near 2^53) from making every later update of the entity stale until its
 * retention ends.
 */
export const MAX_ENTITY_VERSION = 2_147_483_647;

/** True for an entity version the toolkit accepts: an integer from 0 to `MAX_ENTITY_VERSION`. */
export function isEntityVersion(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= MAX_ENTITY_VERSION
  );
}

/** An envelope with its data. */
export interface Envelope<TData = unknown> extends EnvelopeAttributes {
  readonly data?: TData;
}

/** Names of every attribute an envelope may carry, in a stable order (used by header mappings). */
export const ENVELOPE_ATTRIBUTE_NAMES = [
  'id',
  'type',
  'source',
  'specversion',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'kind',
  'correlationid',
  'causationid',
  'partitionkey',
  'dataref',
  'version',
  'traceparent',
  'tracestate',
] as const satisfies readonly (keyof EnvelopeAttributes)[];

const REQUIRED = ['id', 'type', 'source', 'specversion'] as const;

/**
 * Turns string attributes read from a transport into checked envelope attributes.
 * @throws DecodeError naming the missing or malformed attribute.
 */
export function parseAttributes(
  raw: Readonly<Record<string, string | undefined>>,
): EnvelopeAttributes {
  for (const name of REQUIRED) {
    if (!raw[name])
      throw new DecodeError(
        `Envelope attribute "${name}" is missing: every message needs id, type, source and specversion.`,
      );
  }
  if (raw.specversion !== '1.0') {
    throw new DecodeError(
      `Envelope specversion "${raw.specversion}" is not supported: only CloudEvents 1.0 is.`,
    );
  }
  const kind = raw.kind ?? 'event';
  if (kind !== 'event' && kind !== 'command') {
    throw new DecodeError(`Envelope kind "${kind}" is invalid: use "event" or "command".`);
  }
  const attributes: Record<string, unknown> = { kind };
  for (const name of ENVELOPE_ATTRIBUTE_NAMES) {
    const value = raw[name];
    if (value === undefined || name === 'kind') continue;
    if (name === 'version') {
      const version = Number(value);
      if (!Number.isSafeInteger(version) || version < 0) {
        throw new DecodeError(`Envelope version "${value}" is not a non-negative integer.`);
      }
      attributes.version = version;
    } else {
      attributes[name] = value;
    }
  }
  return attributes as unknown as EnvelopeAttributes;
}

/** Envelope attributes as strings, the form every transport header takes. Absent ones are left out. */
export function attributesToStrings(attributes: EnvelopeAttributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ENVELOPE_ATTRIBUTE_NAMES) {
    const value = attributes[name];
    if (value !== undefined) out[name] = String(value);
  }
  return out;
}

/** The envelope without its data. */
export function attributesOf(envelope: Envelope): EnvelopeAttributes {
  const { data: _data, ...attributes } = envelope;
  return attributes;
}
