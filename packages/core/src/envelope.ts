// The message envelope: CloudEvents 1.0 attributes plus the extensions this toolkit uses.
import { ConfigurationError, DecodeError } from './errors.js';

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
  /**
   * CloudEvents extension attributes this toolkit does not define, by name, as strings (their
   * canonical string form: binary mode carries every attribute as a string). Received ones are
   * carried through to the handler; a publisher sets its own with the `extensions` option. Names
   * follow the CloudEvents rule (see `assertExtensionNames`).
   */
  readonly extensions?: Readonly<Record<string, string>>;
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

/** Attribute names an extension cannot take: the envelope's own, and the JSON format's `data`. */
const RESERVED_NAMES: ReadonlySet<string> = new Set<string>([...ENVELOPE_ATTRIBUTE_NAMES, 'data']);
const KNOWN_NAMES: ReadonlySet<string> = new Set<string>(ENVELOPE_ATTRIBUTE_NAMES);

/** The CloudEvents rule for attribute names: lower-case ASCII letters and digits only. */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/** The spec's recommended upper bound on an attribute name's length; we hold publishers to it. */
export const MAX_EXTENSION_NAME_LENGTH = 20;

/**
 * Checks extension attributes a publisher sets: names of 1 to 20 lower-case letters (a-z) and
 * digits (0-9), not an envelope attribute name (`id`, `kind`, `version`, ...) nor `data`;
 * values are strings.
 * @throws ConfigurationError naming the first bad name or value and the rule it breaks.
 */
export function assertExtensions(extensions: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(extensions)) {
    if (!ATTRIBUTE_NAME.test(name) || name.length > MAX_EXTENSION_NAME_LENGTH) {
      throw new ConfigurationError(
        `Extension attribute name "${name}" is invalid: CloudEvents names use only lower-case letters a-z and digits 0-9, at most ${MAX_EXTENSION_NAME_LENGTH} characters (such as "tenantid").`,
      );
    }
    if (RESERVED_NAMES.has(name)) {
      throw new ConfigurationError(
        `Extension attribute name "${name}" is reserved: the envelope defines it; set it through its own option, or pick another name.`,
      );
    }
    if (typeof value !== 'string') {
      throw new ConfigurationError(
        `Extension attribute "${name}" has a ${typeof value} value: extension values are strings (use String(value)).`,
      );
    }
  }
}

/** An entity version read from its canonical string form, or a DecodeError naming the range. */
function parseVersion(value: string): number {
  const version = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!isEntityVersion(version)) {
    throw new DecodeError(
      `Envelope version "${value}" is invalid: it must be an integer from 0 to ${MAX_ENTITY_VERSION} (the CloudEvents Integer range).`,
    );
  }
  return version;
}

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
  if (raw.partitionkey === '') {
    throw new DecodeError(
      'Envelope partitionkey is empty: leave the attribute out, or give it a non-empty key.',
    );
  }
  const attributes: Record<string, unknown> = { kind };
  let known = 0;
  for (const name of ENVELOPE_ATTRIBUTE_NAMES) {
    const value = raw[name];
    if (value === undefined) continue;
    known += 1;
    if (name !== 'kind') attributes[name] = name === 'version' ? parseVersion(value) : value;
  }
  // Every consumed message passes here: look for extensions only when there are more names than
  // known attributes (a key count is cheaper than testing each name).
  if (Object.keys(raw).length > known) {
    const extensions = extensionsOf(raw);
    if (extensions !== undefined) attributes.extensions = extensions;
  }
  return attributes as unknown as EnvelopeAttributes;
}

/** The attributes of `raw` the envelope does not define, checked against the spec's naming rule. */
function extensionsOf(
  raw: Readonly<Record<string, string | undefined>>,
): Record<string, string> | undefined {
  let extensions: Record<string, string> | undefined;
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined || KNOWN_NAMES.has(name)) continue;
    // Received names are not held to the 20-character recommendation: only publishers are.
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new DecodeError(
        `Envelope attribute name "${name}" is invalid: CloudEvents names use only lower-case letters a-z and digits 0-9.`,
      );
    }
    extensions ??= {};
    extensions[name] = value;
  }
  return extensions;
}

/** Envelope attributes as strings, the form every transport header takes. Absent ones are left out. */
export function attributesToStrings(attributes: EnvelopeAttributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ENVELOPE_ATTRIBUTE_NAMES) {
    const value = attributes[name];
    if (value !== undefined) out[name] = String(value);
  }
  const { extensions } = attributes;
  // An extension never stands in for an envelope attribute (publishers are refused such names).
  if (extensions !== undefined)
    for (const name in extensions) if (!KNOWN_NAMES.has(name)) out[name] = extensions[name]!;
  return out;
}

/** The envelope without its data. */
export function attributesOf(envelope: Envelope): EnvelopeAttributes {
  const { data: _data, ...attributes } = envelope;
  return attributes;
}
