// The CloudEvents Kafka binding in binary mode: attributes as `ce_` headers, the content type in
// `content-type`, the data as the record value and `partitionkey` as the record key.
import type { OutgoingMessage } from '@eda/core';
import { fromBinaryHeaders, setOwn, toBinaryHeaders, traceHeadersOf } from '@eda/core/adapter';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export const BINARY_MODE = { prefix: 'ce_', contentTypeHeader: 'content-type' } as const;

/** The record a message is written as. */
export function toRecord(message: OutgoingMessage): Message {
  const headers = toBinaryHeaders(message.attributes, BINARY_MODE);
  const traceHeaders = traceHeadersOf(message);
  return {
    key: message.attributes.partitionkey ?? null,
    value: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
    headers: traceHeaders ? { ...headers, ...traceHeaders } : headers,
  };
}

/** Reads a record header by name (its last value, as UTF-8), for the trace propagator. */
export function headerReader(headers: IHeaders | undefined): (name: string) => string | undefined {
  return (name) => {
    const values = receivedValues(headers?.[name]);
    const value = values[values.length - 1];
    return value === undefined || typeof value === 'string' ? value : value.toString('utf8');
  };
}

/**
 * Header values as strings (UTF-8); a repeated header keeps its last value. Also counts the
 * bytes of every header name and value, for the record size limit.
 */
export function headerStrings(headers: IHeaders | undefined): {
  headers: Record<string, string>;
  bytes: number;
} {
  const out: Record<string, string> = {};
  const bytes = visitHeaders(headers, (name, value) => {
    setOwn(out, name, typeof value === 'string' ? value : value.toString('utf8'));
  });
  return { headers: out, bytes };
}

/**
 * Calls `visit` with the last value of each header (Kafka allows repeats; the last one wins) and
 * returns the size of all names and values in bytes.
 */
function visitHeaders(
  headers: IHeaders | undefined,
  visit: (name: string, value: Buffer | string) => void,
): number {
  let bytes = 0;
  if (!headers) return bytes;
  for (const name in headers) {
    const values = receivedValues(headers[name]);
    const value = values[values.length - 1];
    if (value === undefined) continue;
    bytes += name.length;
    for (const item of values) bytes += item.length;
    visit(name, value);
  }
  return bytes;
}

/**
 * The values a received record carries under one header name. kafkajs groups repeated names
 * by testing `headers[name] === undefined` on a plain object, so a header named like an
 * inherited member (`constructor`, `toString`, `__proto__`) comes back as an array that starts
 * with that member (a function, or Object.prototype): only Buffers and strings are the record's.
 */
export function receivedValues(raw: IHeaders[string]): (Buffer | string)[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return isHeaderValue(raw) ? [raw] : [];
  return raw.filter(isHeaderValue);
}

function isHeaderValue(value: unknown): value is Buffer | string {
  return typeof value === 'string' || Buffer.isBuffer(value);
}

/** What the consume path knows about one header name. */
interface HeaderName {
  /** The attribute the header carries (null: not an attribute), as core's `fromBinaryHeaders` maps it. */
  readonly attribute: string | null;
  /** The last value decoded for this name: most attributes (type, source, content type...) repeat. */
  last: string;
}

/**
 * Header names seen so far. The mapping is asked of core's `fromBinaryHeaders` once per name, so
 * core stays the one place that defines it. Bounded: a producer writing ever new header names
 * cannot grow it without limit (names past the bound are mapped on every record).
 */
const headerNames = new Map<string, HeaderName>();
const MAX_REMEMBERED_NAMES = 1024;

function headerNameOf(name: string): HeaderName {
  let known = headerNames.get(name);
  if (known === undefined) {
    let attribute: string | null = null;
    for (const key in fromBinaryHeaders({ [name]: '' }, BINARY_MODE)) attribute = key;
    known = { attribute, last: '' };
    if (headerNames.size < MAX_REMEMBERED_NAMES) headerNames.set(name, known);
  }
  return known;
}

/**
 * A header value as a string (UTF-8). When its bytes are ASCII and equal the char codes of the
 * last value of the same name, that string is reused: a byte-by-byte check in JS is cheaper
 * than a native decode, and only ASCII bytes can match (each decodes to exactly that char).
 */
function decodeValue(known: HeaderName, bytes: Buffer): string {
  const length = bytes.length;
  const last = known.last;
  if (length === last.length && length <= 64) {
    // From the end: ids and timestamps share their first characters and differ at the end.
    let i = length - 1;
    while (i >= 0) {
      const byte = bytes[i]!;
      if (byte > 0x7f || byte !== last.charCodeAt(i)) break;
      i -= 1;
    }
    if (i < 0) return last;
  }
  // toString() without arguments is Buffer's UTF-8 fast path (no encoding lookup).
  const value = bytes.toString();
  known.last = value;
  return value;
}

/** What the consume path needs of a record's headers. */
export interface RecordHeaders {
  /** Attribute strings (unchecked: core parses them), as `attributesOf(headerStrings(h).headers)`. */
  readonly attributes: Record<string, string>;
  /** Bytes of every header name and value, as `headerStrings(h).bytes`. */
  readonly bytes: number;
}

/**
 * The attributes and header size of a received record in one pass (the hot path of every
 * consumed record): only attribute headers are decoded to strings, with no intermediate
 * object. Same result as `attributesOf(headerStrings(headers).headers)` and its `bytes`.
 */
export function readRecordHeaders(headers: IHeaders | undefined): RecordHeaders {
  const attributes: Record<string, string> = {};
  const bytes = visitHeaders(headers, (name, value) => {
    const known = headerNameOf(name);
    if (known.attribute !== null)
      setOwn(
        attributes,
        known.attribute,
        typeof value === 'string' ? value : decodeValue(known, value),
      );
  });
  return { attributes, bytes };
}

/**
 * Adds the record key as `partitionkey` when no `ce_partitionkey` header carries one: the Kafka
 * binding maps the attribute to the key, and producers such as the CloudEvents SDKs may set only
 * the key. An empty key is no partition key. Changes and returns `attributes`.
 */
export function withKeyAsPartitionKey(
  attributes: Record<string, string>,
  key: Buffer | null,
): Record<string, string> {
  if (attributes.partitionkey === undefined && key && key.length > 0)
    attributes.partitionkey = key.toString();
  return attributes;
}

/** Attribute strings of a received record (unchecked: core parses them). */
export function attributesOf(headers: Readonly<Record<string, string>>): Record<string, string> {
  return fromBinaryHeaders(headers, BINARY_MODE);
}

/** The record value as a Uint8Array view (no copy). */
export function bodyOf(message: KafkaMessage): Uint8Array {
  const value = message.value;
  if (!value) return new Uint8Array(0);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}
