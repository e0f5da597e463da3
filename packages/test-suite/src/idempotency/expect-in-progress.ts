// The in-progress answer may say how long the holder's lease has left (`retryAfterMs`): when it
// does, that must be a real bound, since a consumer waits that long before it tries again.
import type { ClaimResult } from '@eda/core/adapter';
import { expect } from 'vitest';

/** Asserts `result` is in-progress, with an optional `retryAfterMs` within the lease. */
export function expectInProgress(result: ClaimResult, leaseMs: number, what: string): void {
  expect(result.status, what).toBe('in-progress');
  if (result.status !== 'in-progress' || result.retryAfterMs === undefined) return;
  expect(
    Number.isFinite(result.retryAfterMs) &&
      result.retryAfterMs >= 0 &&
      result.retryAfterMs <= leaseMs,
    `${what}: retryAfterMs ${result.retryAfterMs} is the time left on the holder's lease, 0..${leaseMs} ms`,
  ).toBe(true);
}
