// The CloudEvents Kafka binding in binary mode: attributes as `ce_` headers, the content type in
// `content-type`, the data as the record value and `partitionkey` as the record key.
import { fromBinaryHeaders, type OutgoingMessage, toBinaryHeaders } from '@eda/core';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export const BINARY_MODE = { prefix: 'ce_', contentTypeHeader: 'content-type' } as const;

/** The record a message is written as. */
export function toRecord(message: OutgoingMessage): Message {
  return {
    key: message.attributes.partitionkey ?? null,
    value: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
    headers: toBinaryHeaders(message.attributes, BINARY_MODE),
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
  let bytes = 0;
  if (!headers) return { headers: out, bytes };
  for (const name in headers) {
    const raw = headers[name];
    if (raw === undefined) continue;
    bytes += name.length;
    let value: Buffer | string | undefined;
    if (Array.isArray(raw)) {
      for (const item of raw) bytes += item.length;
      value = raw[raw.length - 1];
    } else {
      value = raw;
      bytes += raw.length;
    }
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return { headers: out, bytes };
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
