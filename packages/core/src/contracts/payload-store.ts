// The payload store contract for the claim check: large data is stored aside and the message
// carries a verified reference.
import type { DataRef } from '../data-ref.js';

/** What a payload store can do. */
export interface PayloadStoreCapabilities {
  /** Payloads survive a restart of the client process. */
  readonly persistent: boolean;
}

/** Options for reading a payload. */
export interface GetPayloadOptions {
  /** Refuse payloads larger than this many bytes. @default the store's own cap */
  readonly maxBytes?: number;
}

/** Blob storage for claim-checked payloads. */
export interface PayloadStore {
  readonly capabilities: PayloadStoreCapabilities;
  /**
   * Stores bytes under a new unguessable key inside the store's prefix and returns the reference,
   * with size and sha256 computed from what was stored.
   * @throws UnavailableError when the store cannot be reached; nothing is referenced then.
   */
  put(
    data: Uint8Array | AsyncIterable<Uint8Array>,
    options: { readonly contentType: string },
  ): Promise<DataRef>;
  /**
   * Reads and verifies a payload (size and sha256).
   * @throws PayloadError: EDA_PAYLOAD_FORGED for a reference outside this store's bucket and
   * prefix, EDA_PAYLOAD_MISSING naming the key, EDA_PAYLOAD_INTEGRITY for altered bytes,
   * EDA_PAYLOAD_TOO_LARGE above `maxBytes`, EDA_PAYLOAD_UNAVAILABLE when unreachable.
   */
  get(ref: DataRef, options?: GetPayloadOptions): Promise<Uint8Array>;
  /** Deletes a payload; deleting a missing one is not an error. */
  delete(ref: DataRef): Promise<void>;
}
