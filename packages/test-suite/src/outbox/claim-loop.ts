// Claims repeatedly, as a relay would, until the claimed records satisfy a condition.
import type { OutboxStore } from '@eda/core';
import type { OutboxRecord } from '@eda/core/adapter';
import { waitFor } from '../wait-for.js';

/** Options of `claimUntil`. */
export interface ClaimUntilOptions {
  /** What is awaited, for the failure message. */
  readonly description: string | (() => string);
  readonly idleMs: number;
  /** @default 30000 */
  readonly leaseMs?: number;
  /** Complete each batch right after claiming it. @default true */
  readonly complete?: boolean;
  /** @default 100 */
  readonly limit?: number;
}

/**
 * Claims (and by default completes) batches until `done(all claimed so far)` holds; every
 * non-empty claim restarts the idle timer. Resolves with everything claimed, in claim order.
 */
export async function claimUntil(
  store: OutboxStore<unknown>,
  done: (claimed: readonly OutboxRecord[]) => boolean,
  options: ClaimUntilOptions,
): Promise<OutboxRecord[]> {
  const { leaseMs = 30_000, complete = true, limit = 100, idleMs, description } = options;
  const claimed: OutboxRecord[] = [];
  await waitFor(
    async () => {
      if (done(claimed)) return true;
      const records = await store.claim({ limit, leaseMs });
      if (complete && records.length) await store.complete(records);
      claimed.push(...records);
      return done(claimed);
    },
    { idleMs, description, intervalMs: 20, progress: () => claimed.length },
  );
  return claimed;
}
