// Broken on purpose: payload stores that hand back bytes that do not match the reference.
import type { InMemoryPayloadStore, PayloadStore } from '@eda/core';
import { EdaError } from '@eda/core';

/** Flips one byte of what it read, after the inner store verified it (as a buggy stream transform would). */
export function tamperingPayloadStore(inner: InMemoryPayloadStore): PayloadStore {
  return {
    capabilities: inner.capabilities,
    put: (data, options) => inner.put(data, options),
    async get(ref, options) {
      const bytes = (await inner.get(ref, options)).slice();
      if (bytes.byteLength > 0) bytes[bytes.byteLength >> 1]! ^= 0x01;
      return bytes;
    },
    delete: (ref) => inner.delete(ref),
  };
}

/** Skips the size and sha256 check: returns whatever the object holds now. */
export function unverifiedPayloadStore(inner: InMemoryPayloadStore): PayloadStore {
  return {
    capabilities: inner.capabilities,
    put: (data, options) => inner.put(data, options),
    async get(ref, options) {
      try {
        return await inner.get(ref, options);
      } catch (error) {
        const stored = inner.objects.get(ref.key);
        if (EdaError.isInstance(error) && error.code === 'EDA_PAYLOAD_INTEGRITY' && stored)
          return stored;
        throw error;
      }
    },
    delete: (ref) => inner.delete(ref),
  };
}
