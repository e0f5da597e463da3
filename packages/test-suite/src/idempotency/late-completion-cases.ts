// Idempotency cases on completions that arrive after the lease ran out: a handler that outlived
// its lease while nobody else claimed the key has still done the work once, so its completion
// must be recorded (else a later duplicate runs the side effect again). Only a real takeover
// (another claim in between) may refuse it.
import { type ClaimResult, abortableSleep as pause } from '@eda/core/adapter';
import { expect } from 'vitest';
import { expectInProgress } from './expect-in-progress.js';
import type { IdempotencyCase } from './idempotency-setup.js';

const SHORT_LEASE = 200;
/** Past the lease by a margin wide enough for a store whose clock ticks coarsely. */
const PAST_LEASE = SHORT_LEASE + 300;
const LEASE = 30_000;
const RETENTION = 60_000;

function tokenOf(result: ClaimResult, what: string): string {
  if (result.status !== 'claimed')
    throw new Error(`${what}: expected a claim, got ${JSON.stringify(result)}.`);
  return result.token;
}

/** A completion after the lease expired, with no claim in between, is recorded. */
export const lateCompletionCase: IdempotencyCase = {
  name: 'late completion: a completion after the lease expired is recorded when nobody claimed the key meanwhile, so a later duplicate is done',
  requires: ['leases'],
  async run(context) {
    const { store } = context;
    const key = context.name('late');
    const token = tokenOf(await store.claim(key, { leaseMs: SHORT_LEASE }), 'first claim');
    // A fixed wait, not a poll: polling with claim() would itself take the key over.
    await pause(PAST_LEASE);
    expect(
      await store.complete(key, token, { retentionMs: RETENTION }),
      'a completion after the lease expired, nobody else having claimed the key',
    ).toBe(true);
    expect(
      await store.claim(key, { leaseMs: LEASE }),
      'a later duplicate of the late-completed message',
    ).toEqual({ status: 'done' });
    // The same after a takeover is refused: that is what lease-lost means.
    const other = context.name('taken-over');
    const stale = tokenOf(await store.claim(other, { leaseMs: SHORT_LEASE }), 'claim to lose');
    await pause(PAST_LEASE);
    const takeover = tokenOf(await store.claim(other, { leaseMs: LEASE }), 'takeover claim');
    expect(
      await store.complete(other, stale, { retentionMs: RETENTION }),
      'a late completion after another consumer took the key over',
    ).toBe(false);
    expectInProgress(
      await store.claim(other, { leaseMs: LEASE }),
      LEASE,
      'the taken-over key stays with its new holder',
    );
    expect(await store.complete(other, takeover, { retentionMs: RETENTION })).toBe(true);
  },
};

/** The same for an entity-version claim: the late completion records the applied version. */
export const lateVersionCompletionCase: IdempotencyCase = {
  name: 'late version completion: a version completed after its lease expired, nobody claiming meanwhile, is recorded as applied',
  requires: ['leases', 'versionGuard'],
  async run(context) {
    const { store } = context;
    const key = context.name('late-entity');
    const v1 = tokenOf(await store.claim(key, { leaseMs: LEASE, version: 1 }), 'version 1');
    expect(await store.complete(key, v1, { retentionMs: RETENTION, version: 1 })).toBe(true);
    const v4 = tokenOf(
      await store.claim(key, { leaseMs: SHORT_LEASE, version: 4 }),
      'version 4 with a short lease',
    );
    await pause(PAST_LEASE);
    expect(
      await store.complete(key, v4, { retentionMs: RETENTION, version: 4 }),
      'completion of version 4 after its lease expired, nobody else having claimed the key',
    ).toBe(true);
    expect(
      await store.claim(key, { leaseMs: LEASE, version: 4 }),
      'a later duplicate of version 4',
    ).toEqual({ status: 'stale', appliedVersion: 4 });
    expect(
      await store.claim(key, { leaseMs: LEASE, version: 3 }),
      'an older version after the late completion',
    ).toEqual({ status: 'stale', appliedVersion: 4 });
    tokenOf(await store.claim(key, { leaseMs: LEASE, version: 5 }), 'a newer version');
  },
};
