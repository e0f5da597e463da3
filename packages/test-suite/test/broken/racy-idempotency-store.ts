// Broken on purpose: claim reads the key, awaits (a network round trip), then writes it: GET
// then SET instead of SET NX. Everything else follows core's in-memory store, which it uses for
// completions, releases, leases and versions once a claim is (wrongly) granted.
import type { IdempotencyStore } from '@eda/core';
import { createInMemoryIdempotencyStore } from '@eda/core';

const roundTrip = () => new Promise<void>((resolve) => setImmediate(resolve));

export function racyIdempotencyStore(): IdempotencyStore {
  const inner = createInMemoryIdempotencyStore();
  /** This client's view of the keys held right now: what the GET returns. */
  const held = new Map<string, string>();
  const claim: IdempotencyStore['claim'] = async (key, options) => {
    const holder = held.get(key); // GET
    await roundTrip();
    if (holder !== undefined) return { status: 'in-progress' };
    const result = await inner.claim(key, options);
    if (result.status === 'in-progress') {
      // SET without NX: overwrite whoever took it since our GET, and believe we hold it.
      const token = `overwritten-${Math.random().toString(16).slice(2)}`;
      held.set(key, token);
      return { status: 'claimed', token };
    }
    if (result.status === 'claimed') held.set(key, result.token);
    return result;
  };
  return {
    capabilities: inner.capabilities,
    claim,
    async complete(key, token, options) {
      if (held.get(key) === token) held.delete(key);
      return inner.complete(key, token, options);
    },
    async release(key, token) {
      if (held.get(key) === token) held.delete(key);
      return inner.release(key, token);
    },
  };
}
