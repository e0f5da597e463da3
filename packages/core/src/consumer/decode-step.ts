// Decode: checks the envelope attributes and decodes the body by its content type. A message
// that fails here can never succeed, so it is dead-lettered at once. A structured-mode message
// (the whole event as the body) is first turned into its binary-mode form.
import type { Codecs } from '../codec.js';
import { parseAttributes } from '../envelope.js';
import { DecodeError, EdaError } from '../errors.js';
import { isStructuredMode, structuredToBinary } from '../structured-mode.js';
import type { ConsumeMiddleware } from './consume-context.js';

export function decodeStep(codecs: Codecs): ConsumeMiddleware {
  return async (context, next) => {
    const { delivery } = context;
    const contentType = delivery.attributes.datacontenttype;
    const wire = isStructuredMode(contentType)
      ? structuredToBinary(contentType, delivery.attributes, delivery.body)
      : delivery;
    const attributes = parseAttributes(wire.attributes);
    // Set before the body is decoded so a failure is reported with the message's attributes.
    context.envelope = attributes;
    // With a dataref the data lives in the payload store; the claim-check step fills it in.
    if (attributes.dataref !== undefined) return next();
    let data: unknown;
    if (wire.body.byteLength > 0) {
      const codec = codecs.forContentType(attributes.datacontenttype);
      try {
        data = codec.decode(wire.body);
      } catch (cause) {
        if (EdaError.isInstance(cause)) throw cause;
        throw new DecodeError(
          `Body of message ${attributes.id} ("${attributes.type}") is not valid ${codec.contentType}: ${(cause as Error).message}`,
          { cause },
        );
      }
    }
    context.envelope = data === undefined ? attributes : { ...attributes, data };
    return next();
  };
}
