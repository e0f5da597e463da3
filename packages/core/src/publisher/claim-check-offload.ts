// Claim-check offload: a body above the threshold is stored in the payload store and the
// message carries a verified reference instead. If the store fails, nothing is published.
import type { PayloadStore } from '../contracts/payload-store.js';
import type { OutgoingMessage } from '../contracts/transport.js';
import { formatDataRef } from '../data-ref.js';
import { ConfigurationError } from '../errors.js';
import { CORE_SCOPE } from '../telemetry/core-scope.js';
import { instrumentsFor } from '../telemetry/instruments.js';

/**
 * A step of the publisher pipeline: returns the message to send (possibly changed), directly or
 * as a promise (steps that usually change nothing can answer synchronously and cost no await).
 */
export type PublishMiddleware = (
  message: OutgoingMessage,
) => OutgoingMessage | Promise<OutgoingMessage>;

/** Options of the claim check (the bus's `claimCheck` option). */
export interface ClaimCheckOptions {
  readonly store: PayloadStore;
  /** Bodies larger than this many bytes are offloaded. Below the usual 1 MB broker limit. @default 262144 (256 KiB) */
  readonly thresholdBytes?: number;
  /** Consumers refuse payloads larger than this. @default 104857600 (100 MiB) */
  readonly maxBytes?: number;
}

export function claimCheckOffload(options: ClaimCheckOptions): PublishMiddleware {
  const { store, thresholdBytes = 256 * 1024 } = options;
  if (!Number.isSafeInteger(thresholdBytes) || thresholdBytes < 0) {
    throw new ConfigurationError(
      `claimCheck.thresholdBytes is ${thresholdBytes}: use a non-negative integer number of bytes.`,
    );
  }
  const offload = async (message: OutgoingMessage): Promise<OutgoingMessage> => {
    const ref = await store.put(message.body, {
      contentType: message.attributes.datacontenttype ?? 'application/octet-stream',
    });
    instrumentsFor(CORE_SCOPE)?.claimCheckOffloaded.add(message.body.byteLength, {
      'eda.message.type': message.attributes.type,
    });
    return {
      attributes: { ...message.attributes, dataref: formatDataRef(ref) },
      body: new Uint8Array(0),
    };
  };
  // Small messages, the common case, pass through synchronously.
  return (message) => (message.body.byteLength <= thresholdBytes ? message : offload(message));
}
