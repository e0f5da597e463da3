// Data codecs: turn an envelope's data into bytes and back, chosen by `datacontenttype`.
import { ConfigurationError, DecodeError } from './errors.js';

/** Encodes and decodes message data of one media type. */
export interface Codec {
  /** The media type this codec writes into `datacontenttype`, such as `application/json`. */
  readonly contentType: string;
  /**
   * @throws an Error when the data cannot be encoded (the publisher reports it to the caller).
   */
  encode(data: unknown): Uint8Array;
  /** @throws an Error when the bytes are not valid for this media type (the message is dead-lettered). */
  decode(bytes: Uint8Array): unknown;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON in UTF-8, the default. */
export const jsonCodec: Codec = {
  contentType: 'application/json',
  encode(data) {
    const text = JSON.stringify(data);
    if (text === undefined)
      throw new TypeError(`JSON cannot encode a value of type ${typeof data}.`);
    return utf8.encode(text);
  },
  decode(bytes) {
    return JSON.parse(strictUtf8.decode(bytes));
  },
};

/** Raw bytes, passed through unchanged: data must be a Uint8Array. */
export const bytesCodec: Codec = {
  contentType: 'application/octet-stream',
  encode(data) {
    if (!(data instanceof Uint8Array))
      throw new TypeError('application/octet-stream data must be a Uint8Array.');
    return data;
  },
  decode(bytes) {
    return bytes;
  },
};

/** Finds the codec for a media type. */
export interface Codecs {
  /** The codec used when a message names no `datacontenttype`. */
  readonly default: Codec;
  /** @throws DecodeError when no codec is registered for the media type. */
  forContentType(contentType: string | undefined): Codec;
}

/**
 * A codec lookup. Media type parameters (`; charset=utf-8`) are ignored when matching, and any
 * `+json` structured suffix is read by the JSON codec.
 */
export function createCodecs(codecs: readonly Codec[] = [jsonCodec, bytesCodec]): Codecs {
  const first = codecs[0];
  if (!first) throw new ConfigurationError('createCodecs needs at least one codec.');
  const byType = new Map(codecs.map((codec) => [codec.contentType, codec]));
  return {
    default: first,
    forContentType(contentType) {
      if (contentType === undefined) return first;
      const bare = contentType.split(';')[0]!.trim().toLowerCase();
      const codec =
        byType.get(bare) ?? (bare.endsWith('+json') ? byType.get('application/json') : undefined);
      if (!codec) {
        throw new DecodeError(
          `No codec for content type "${contentType}": register one with createCodecs([...]) or send ${[...byType.keys()].join(', ')}.`,
        );
      }
      return codec;
    },
  };
}
