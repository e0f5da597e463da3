// CloudEvents structured content mode in the JSON event format: the whole event, attributes and
// data, is the message body. A structured delivery is turned into its binary-mode form
// (attribute strings and data bytes) so that one path checks and decodes every message.
import { DecodeError } from './errors.js';
import { setOwn } from './own-property.js';

/** The media type of one event in the JSON event format. */
export const STRUCTURED_JSON_TYPE = 'application/cloudevents+json';
/** What every structured-mode content type starts with, whatever its event format. */
const CLOUDEVENTS_MEDIA = 'application/cloudevents';
/** The media type of a JSON batch of events, which this toolkit does not read. */
const BATCH_JSON_TYPE = 'application/cloudevents-batch+json';

/** A message in binary-mode form: unchecked attribute strings and the data's bytes. */
export interface BinaryForm {
  readonly attributes: Record<string, string>;
  readonly body: Uint8Array;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/**
 * True when a content type announces structured mode: the bindings say a content type starting
 * with `application/cloudevents` means the body is a whole event in some event format.
 */
export function isStructuredMode(contentType: string | undefined): contentType is string {
  // Runs for every delivery: a plain prefix test first, lower-casing only a near miss.
  if (contentType === undefined || contentType.length < CLOUDEVENTS_MEDIA.length) return false;
  return (
    contentType.startsWith(CLOUDEVENTS_MEDIA) ||
    contentType.slice(0, CLOUDEVENTS_MEDIA.length).toLowerCase() === CLOUDEVENTS_MEDIA
  );
}

/** `*\/json` and `*\/*+json` declare JSON data (JSON format, section 3.1). */
function isJsonMediaType(mediaType: string): boolean {
  const subtype = mediaType.split('/')[1] ?? '';
  return subtype === 'json' || subtype.endsWith('+json');
}

function parseEvent(body: Uint8Array): Record<string, unknown> {
  let event: unknown;
  try {
    event = JSON.parse(strictUtf8.decode(body));
  } catch (cause) {
    throw new DecodeError(
      `Structured CloudEvent (${STRUCTURED_JSON_TYPE}) is not valid JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new DecodeError(
      `Structured CloudEvent (${STRUCTURED_JSON_TYPE}) must be a JSON object, not ${Array.isArray(event) ? 'an array' : String(event === null ? 'null' : typeof event)}.`,
    );
  }
  return event as Record<string, unknown>;
}

/** The event's attributes as strings, the form binary mode carries; null means absent. */
function attributeStrings(event: Record<string, unknown>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64' || value === null) continue;
    if (typeof value === 'string') setOwn(attributes, name, value);
    else if (typeof value === 'number' || typeof value === 'boolean')
      setOwn(attributes, name, String(value));
    else
      throw new DecodeError(
        `Structured CloudEvent attribute "${name}" is ${Array.isArray(value) ? 'an array' : `an ${typeof value}`}: attribute values are strings, numbers or booleans.`,
      );
  }
  return attributes;
}

/** The data's bytes, by the JSON format's rules for `data` and `data_base64`. */
function dataBytes(event: Record<string, unknown>, attributes: Record<string, string>): Uint8Array {
  const hasData = 'data' in event;
  const base64 = event.data_base64;
  if (base64 !== undefined && base64 !== null) {
    if (hasData)
      throw new DecodeError('Structured CloudEvent has both "data" and "data_base64": keep one.');
    if (typeof base64 !== 'string' || !BASE64.test(base64))
      throw new DecodeError('Structured CloudEvent "data_base64" is not a base64 string.');
    // A plain Uint8Array, as binary mode hands the bytes codec (a Buffer compares unequal).
    return new Uint8Array(Buffer.from(base64, 'base64'));
  }
  if (!hasData) return new Uint8Array(0);
  // Without a content type the data is JSON, and binary mode must then say so explicitly.
  attributes.datacontenttype ??= 'application/json';
  if (isJsonMediaType(mediaTypeOf(attributes.datacontenttype)))
    return utf8.encode(JSON.stringify(event.data));
  if (typeof event.data !== 'string') {
    throw new DecodeError(
      `Structured CloudEvent "data" of content type "${attributes.datacontenttype}" must be a string (or use data_base64).`,
    );
  }
  return utf8.encode(event.data);
}

/**
 * The binary-mode form of a structured-mode delivery. Attributes in the event win over those the
 * transport carried beside it (such as the Kafka record key as `partitionkey`).
 * @throws DecodeError for an event format other than JSON, a batch, a body that is not a JSON
 * object, or malformed `data` / `data_base64`. Missing required attributes are left for
 * `parseAttributes` to name.
 */
export function structuredToBinary(
  contentType: string,
  transportAttributes: Readonly<Record<string, string>>,
  body: Uint8Array,
): BinaryForm {
  const mediaType = mediaTypeOf(contentType);
  if (mediaType === BATCH_JSON_TYPE) {
    throw new DecodeError(
      `Batched content mode (${BATCH_JSON_TYPE}) is not supported: send one event per message, in structured or binary mode.`,
    );
  }
  if (mediaType !== STRUCTURED_JSON_TYPE) {
    throw new DecodeError(
      `Structured event format "${contentType}" is not supported: send ${STRUCTURED_JSON_TYPE} or binary mode.`,
    );
  }
  const event = parseEvent(body);
  const { datacontenttype: _structured, ...beside } = transportAttributes;
  const attributes = { ...beside, ...attributeStrings(event) };
  return { attributes, body: dataBytes(event, attributes) };
}
