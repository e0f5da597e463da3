// The in-memory idempotency store: atomic claims (single-threaded JavaScript makes each call
// atomic), leases, retention, fencing tokens and a version guard.
import { randomUUID } from 'node:crypto';
import type { IdempotencyStore } from '../contracts/idempotency-store.js';

interface Entry {
  state: 'in-progress' | 'done' | 'free';
  token: string;
  /** Lease end (in-progress) or retention end (done). */
  expiresAt: number;
  /** Last completed entity version, for version-guarded keys. */
  appliedVersion: number | undefined;
}

export interface InMemoryIdempotencyStore extends IdempotencyStore {
  /** Number of keys held (for tests of retention). */
  size(): number;
}

/**
 * Creates an idempotency store in this process's memory: leases, retention and the version
 * guard as the contract says, but not persistent and not shared between processes.
 */
export function createInMemoryIdempotencyStore(
  options: { now?: () => number } = {},
): InMemoryIdempotencyStore {
  const { now = Date.now } = options;
  const entries = new Map<string, Entry>();

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now()) {
      if (entry.appliedVersion === undefined || entry.state === 'done') {
        entries.delete(key);
        return undefined;
      }
      entry.state = 'free'; // an expired lease on a versioned key keeps its applied version
    }
    return entry;
  };

  const claim: IdempotencyStore['claim'] = async (key, { leaseMs, version }) => {
    const entry = live(key);
    if (
      version !== undefined &&
      entry?.appliedVersion !== undefined &&
      version <= entry.appliedVersion
    ) {
      return { status: 'stale', appliedVersion: entry.appliedVersion };
    }
    if (entry?.state === 'in-progress')
      return { status: 'in-progress', retryAfterMs: Math.max(0, entry.expiresAt - now()) };
    if (entry?.state === 'done' && version === undefined) return { status: 'done' };
    const token = randomUUID();
    entries.set(key, {
      state: 'in-progress',
      token,
      expiresAt: now() + leaseMs,
      appliedVersion: entry?.appliedVersion,
    });
    return { status: 'claimed', token };
  };

  return {
    capabilities: { leases: true, versionGuard: true, retention: true, persistent: false },
    claim,
    async complete(key, token, { retentionMs, version }) {
      // Not `live(key)`: an expired lease that nobody took over still belongs to this token.
      // The handler did its work once, so the completion is recorded; only a claim by another
      // consumer in between (a new token) makes it lease-lost.
      let entry = entries.get(key);
      if (entry?.state === 'done' && entry.expiresAt <= now()) {
        entries.delete(key);
        entry = undefined;
      }
      if (entry === undefined) {
        // Nobody holds the key (the lease expired and was swept, not taken over): record it.
        entries.set(key, {
          state: 'done',
          token,
          expiresAt: now() + retentionMs,
          appliedVersion: version,
        });
        return true;
      }
      if (entry.token !== token || entry.state === 'done') return false;
      entry.state = 'done';
      entry.expiresAt = now() + retentionMs;
      if (version !== undefined)
        entry.appliedVersion = Math.max(version, entry.appliedVersion ?? version);
      return true;
    },
    async release(key, token) {
      const entry = live(key);
      if (entry?.state !== 'in-progress' || entry.token !== token) return false;
      if (entry.appliedVersion === undefined) entries.delete(key);
      else entry.state = 'free';
      return true;
    },
    size: () => entries.size,
  };
}
