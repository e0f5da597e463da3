// Broken on purpose: a completion that arrives after its lease ran out is discarded (returns
// false, records nothing) even when nobody else claimed the key, so a later duplicate of a
// message that was handled runs its side effect again.
import type { IdempotencyStore } from '@eda/core';
import { createInMemoryIdempotencyStore } from '@eda/core';

export function expiringIdempotencyStore(): IdempotencyStore {
  const inner = createInMemoryIdempotencyStore();
  /** Lease end of each token this client was granted. */
  const leaseEnds = new Map<string, number>();
  return {
    capabilities: inner.capabilities,
    async claim(key, options) {
      const result = await inner.claim(key, options);
      if (result.status === 'claimed') leaseEnds.set(result.token, Date.now() + options.leaseMs);
      return result;
    },
    async complete(key, token, options) {
      const end = leaseEnds.get(token);
      leaseEnds.delete(token);
      if (end !== undefined && Date.now() >= end) return false;
      return inner.complete(key, token, options);
    },
    release: (key, token) => inner.release(key, token),
  };
}
