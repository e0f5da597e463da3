// Claim-check resolution: fetches the payload a `dataref` points to, verified by the store
// (bucket and prefix confinement, size, sha256), and decodes it.
import type { Codecs } from '../codec.js';
import type { PayloadStore } from '../contracts/payload-store.js';
import { parseDataRef } from '../data-ref.js';
import { DecodeError } from '../errors.js';
import type { ConsumeMiddleware } from './consume-context.js';

export interface ClaimCheckStepOptions {
  readonly store: PayloadStore | undefined;
  readonly codecs: Codecs;
  /** Refuse payloads larger than this. */
  readonly maxBytes?: number;
}

export function claimCheckStep({
  store,
  codecs,
  maxBytes,
}: ClaimCheckStepOptions): ConsumeMiddleware {
  return async (context, next) => {
    const envelope = context.envelope!;
    if (envelope.dataref === undefined) return next();
    if (!store) {
      throw new DecodeError(
        `Message ${envelope.id} ("${envelope.type}") carries a claim-check reference but subscription "${context.subscription}" has no payload store: configure claimCheck on the bus.`,
      );
    }
    const ref = parseDataRef(envelope.dataref);
    const bytes = await store.get(ref, maxBytes === undefined ? {} : { maxBytes });
    const codec = codecs.forContentType(ref.contentType);
    let data: unknown;
    try {
      data = codec.decode(bytes);
    } catch (cause) {
      throw new DecodeError(
        `Claim-checked payload of message ${envelope.id} is not valid ${codec.contentType}: ${(cause as Error).message}`,
        { cause },
      );
    }
    context.envelope = { ...envelope, datacontenttype: ref.contentType, data };
    return next();
  };
}
