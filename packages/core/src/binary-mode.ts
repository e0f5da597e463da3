// CloudEvents binary content mode: attributes travel as prefixed transport headers, the data is
// the message body. Adapters call these so none of them re-invents the mapping.
import { attributesToStrings, type EnvelopeAttributes } from './envelope.js';
import { setOwn } from './own-property.js';

/** How a transport names attribute headers. */
export interface BinaryModeOptions {
  /** Header name prefix: `ce_` on Kafka, `cloudEvents_` on AMQP. @default 'ce_' */
  readonly prefix?: string;
  /**
   * The header that carries `datacontenttype` (`content-type` on Kafka). When undefined the
   * attribute travels as a prefixed header like the others (the AMQP adapter maps it to the
   * message property itself).
   * @default undefined
   */
  readonly contentTypeHeader?: string;
}

/** Attribute headers for an envelope. */
export function toBinaryHeaders(
  attributes: EnvelopeAttributes,
  options: BinaryModeOptions = {},
): Record<string, string> {
  const { prefix = 'ce_', contentTypeHeader } = options;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributesToStrings(attributes))) {
    if (name === 'datacontenttype' && contentTypeHeader) headers[contentTypeHeader] = value;
    else headers[prefix + name] = value;
  }
  return headers;
}

/**
 * Attribute strings read back from headers (unchecked: pass them to `parseAttributes`).
 * Header names are matched case-insensitively; non-attribute headers are ignored.
 */
export function fromBinaryHeaders(
  headers: Readonly<Record<string, string | undefined>>,
  options: BinaryModeOptions = {},
): Record<string, string> {
  const prefix = options.prefix ?? 'ce_';
  const lowerPrefix = prefix.toLowerCase();
  const contentTypeHeader = options.contentTypeHeader?.toLowerCase();
  const attributes: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // Hot path (every consumed message): headers written by toBinaryHeaders match exactly, so
    // lower-casing is only paid for names written in another case.
    if (name.startsWith(prefix) || name.slice(0, prefix.length).toLowerCase() === lowerPrefix) {
      const attribute = name.slice(prefix.length);
      setOwn(attributes, /[A-Z]/.test(attribute) ? attribute.toLowerCase() : attribute, value);
    } else if (
      contentTypeHeader &&
      name.length === contentTypeHeader.length &&
      name.toLowerCase() === contentTypeHeader
    ) {
      attributes.datacontenttype = value;
    }
  }
  return attributes;
}
