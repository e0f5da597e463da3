// Idempotency cases on the store itself: exclusive claims, completion, release, leases,
// retention, the version guard and batched claims.
import type { IdempotencyStore } from '@eda/core';
import { type ClaimResult, abortableSleep as pause } from '@eda/core/adapter';
import { expect } from 'vitest';
import { waitFor } from '../wait-for.js';
import { expectInProgress } from './expect-in-progress.js';
import type { IdempotencyCase } from './idempotency-setup.js';

const LEASE = 30_000;
const RETENTION = 60_000;

function tokenOf(result: ClaimResult | undefined, what: string): string {
  if (result?.status !== 'claimed')
    throw new Error(`${what}: expected a claim, got ${JSON.stringify(result)}.`);
  return result.token;
}

/** Polls `claim` until it returns `claimed`; resolves with the claim and when it came. */
async function claimWhenFree(
  store: IdempotencyStore,
  key: string,
  idleMs: number,
  what: string,
  leaseMs = LEASE,
): Promise<{ token: string; at: number }> {
  let result: ClaimResult | undefined;
  await waitFor(
    async () => {
      result = await store.claim(key, { leaseMs });
      return result.status === 'claimed';
    },
    { idleMs, intervalMs: 20, description: what },
  );
  return { token: tokenOf(result, what), at: Date.now() };
}

/** Of N parallel claims of one key, exactly one wins. */
export const parallelClaimsCase: IdempotencyCase = {
  name: 'parallel claims: of 50 concurrent claims of one key exactly one is claimed, the rest in-progress',
  requires: [],
  async run(context) {
    const key = context.name('parallel');
    const results = await Promise.all(
      Array.from({ length: 50 }, () => context.store.claim(key, { leaseMs: LEASE })),
    );
    const statuses = results.map((r) => r.status);
    expect(
      statuses.filter((s) => s === 'claimed'),
      'winners',
    ).toHaveLength(1);
    expect(
      statuses.filter((s) => s === 'in-progress'),
      'the others',
    ).toHaveLength(49);
  },
};

/** A completed key is done; only the holder's token completes it. */
export const completeCase: IdempotencyCase = {
  name: "complete: only the holder's token completes a claim, and a completed key is done",
  requires: [],
  async run(context) {
    const key = context.name('complete');
    const token = tokenOf(await context.store.claim(key, { leaseMs: LEASE }), 'first claim');
    expect(
      await context.store.complete(key, 'not-the-token', { retentionMs: RETENTION }),
      'complete with a wrong token',
    ).toBe(false);
    expectInProgress(await context.store.claim(key, { leaseMs: LEASE }), LEASE, 'claim while held');
    expect(
      await context.store.complete(key, token, { retentionMs: RETENTION }),
      'complete with the token',
    ).toBe(true);
    expect(await context.store.claim(key, { leaseMs: LEASE }), 'claim after completion').toEqual({
      status: 'done',
    });
    expect(await context.store.release(key, token), 'release after completion').toBe(false);
    expect(await context.store.claim(key, { leaseMs: LEASE }), 'still done').toEqual({
      status: 'done',
    });
  },
};

/** A released claim can be claimed again, and the old token no longer works. */
export const releaseCase: IdempotencyCase = {
  name: 'release: a released claim can be claimed again, and the old token no longer completes it',
  requires: [],
  async run(context) {
    const key = context.name('release');
    const first = tokenOf(await context.store.claim(key, { leaseMs: LEASE }), 'first claim');
    expect(await context.store.release(key, 'not-the-token'), 'release with a wrong token').toBe(
      false,
    );
    expect(await context.store.release(key, first), 'release with the token').toBe(true);
    const second = tokenOf(
      await context.store.claim(key, { leaseMs: LEASE }),
      'claim after release',
    );
    expect(second, 'a new token').not.toBe(first);
    expect(
      await context.store.complete(key, first, { retentionMs: RETENTION }),
      'complete with the released token',
    ).toBe(false);
    expect(
      await context.store.complete(key, second, { retentionMs: RETENTION }),
      'complete with the new token',
    ).toBe(true);
    expect(await context.store.claim(key, { leaseMs: LEASE })).toEqual({ status: 'done' });
  },
};

/** An expired lease can be taken over; the old holder can then neither complete nor release. */
export const leaseTakeoverCase: IdempotencyCase = {
  name: 'lease: an expired claim is taken over, and the old token can neither complete nor release it',
  requires: ['leases'],
  async run(context) {
    const key = context.name('lease');
    const leaseMs = 300;
    const startedAt = Date.now();
    const stale = tokenOf(await context.store.claim(key, { leaseMs }), 'first claim');
    expectInProgress(await context.store.claim(key, { leaseMs }), leaseMs, 'during the lease');
    const takeover = await claimWhenFree(
      context.store,
      key,
      leaseMs + context.idleMs,
      'the lease to expire',
      leaseMs,
    );
    expect(takeover.at - startedAt, 'time until takeover').toBeGreaterThanOrEqual(leaseMs - 100);
    expect(
      await context.store.complete(key, stale, { retentionMs: RETENTION }),
      'complete with the expired token',
    ).toBe(false);
    expect(await context.store.release(key, stale), 'release with the expired token').toBe(false);
    expect(
      await context.store.complete(key, takeover.token, { retentionMs: RETENTION }),
      'complete by the new holder',
    ).toBe(true);
    expect(await context.store.claim(key, { leaseMs })).toEqual({ status: 'done' });
  },
};

/** A completed key is forgotten after its retention. */
export const retentionCase: IdempotencyCase = {
  name: 'retention: a completed key is done during its retention and claimable after it',
  requires: ['retention'],
  async run(context) {
    const key = context.name('retention');
    const retentionMs = 300;
    const token = tokenOf(await context.store.claim(key, { leaseMs: LEASE }), 'first claim');
    const completedAt = Date.now();
    expect(await context.store.complete(key, token, { retentionMs })).toBe(true);
    expect(await context.store.claim(key, { leaseMs: LEASE }), 'during retention').toEqual({
      status: 'done',
    });
    const again = await claimWhenFree(
      context.store,
      key,
      retentionMs + context.idleMs,
      'the retention to end',
    );
    expect(again.at - completedAt, 'time until forgotten').toBeGreaterThanOrEqual(
      retentionMs - 100,
    );
  },
};

/** Only newer versions apply; older and equal ones are stale, also after a release. */
export const versionGuardCase: IdempotencyCase = {
  name: 'version guard: a newer version applies; an older or equal one is stale',
  requires: ['versionGuard'],
  async run(context) {
    const { store } = context;
    const key = context.name('entity');
    const claimV = (version: number) => store.claim(key, { leaseMs: LEASE, version });
    const v5 = tokenOf(await claimV(5), 'version 5');
    expect(await store.complete(key, v5, { retentionMs: RETENTION, version: 5 })).toBe(true);
    expect(await claimV(5), 'equal version').toEqual({ status: 'stale', appliedVersion: 5 });
    expect(await claimV(3), 'older version').toEqual({ status: 'stale', appliedVersion: 5 });
    const v6 = tokenOf(await claimV(6), 'version 6');
    expectInProgress(await claimV(7), LEASE, 'newer version while 6 is in progress');
    expect(await store.complete(key, v6, { retentionMs: RETENTION, version: 6 })).toBe(true);
    expect(await claimV(6), 'after 6 applied').toEqual({ status: 'stale', appliedVersion: 6 });
    const v8 = tokenOf(await claimV(8), 'version 8');
    expect(await store.release(key, v8)).toBe(true);
    expect(await claimV(6), 'a release keeps the applied version').toEqual({
      status: 'stale',
      appliedVersion: 6,
    });
    tokenOf(await claimV(8), 'version 8 after its release');
  },
};

/** Concurrent versions: the applied sequence only rises and ends at the highest. */
export const versionRaceCase: IdempotencyCase = {
  name: 'version guard under concurrency: versions 1..20 claimed in parallel apply in rising order and end at 20',
  requires: ['versionGuard'],
  async run(context) {
    const { store } = context;
    const key = context.name('entity-race');
    const applied: number[] = [];
    const rejectedCompletes: number[] = [];
    let activity = 0;
    const worker = async (version: number) => {
      for (;;) {
        const result = await store.claim(key, { leaseMs: LEASE, version });
        activity += 1;
        if (result.status === 'stale') return;
        if (result.status === 'claimed') {
          applied.push(version);
          await pause(Math.floor(Math.random() * 3));
          if (!(await store.complete(key, result.token, { retentionMs: RETENTION, version })))
            rejectedCompletes.push(version);
          return;
        }
        await pause(1 + Math.floor(Math.random() * 4));
      }
    };
    let finished = 0;
    const all = Promise.all(
      Array.from({ length: 20 }, (_, i) => worker(i + 1).finally(() => void finished++)),
    );
    await waitFor(() => finished === 20, {
      idleMs: context.idleMs,
      progress: () => activity,
      description: () => `20 workers to finish (${finished} did)`,
    });
    await all;
    expect(rejectedCompletes, 'completions refused').toEqual([]);
    const rising = applied.every((version, i) => i === 0 || version > applied[i - 1]!);
    expect(rising, `versions applied in rising order (${applied.join(', ')})`).toBe(true);
    expect(applied.at(-1), 'the last applied version').toBe(20);
    expect(await store.claim(key, { leaseMs: LEASE, version: 20 })).toEqual({
      status: 'stale',
      appliedVersion: 20,
    });
  },
};

/** A completed claim survives a restart of the client. */
export const restartCase: IdempotencyCase = {
  name: 'restart: completed and in-progress claims survive a restart of the client',
  requires: ['persistent', 'restart'],
  async run(context) {
    const done = context.name('done');
    const held = context.name('held');
    const token = tokenOf(await context.store.claim(done, { leaseMs: LEASE }), 'claim');
    await context.store.complete(done, token, { retentionMs: RETENTION });
    tokenOf(await context.store.claim(held, { leaseMs: LEASE }), 'claim');
    const restarted = await context.restart();
    expect(await restarted.claim(done, { leaseMs: LEASE }), 'completed key after restart').toEqual({
      status: 'done',
    });
    expectInProgress(
      await restarted.claim(held, { leaseMs: LEASE }),
      LEASE,
      'held key after restart',
    );
  },
};
