// The fence monitor's decisions, on a scripted database answer: when it warns, how often, and
// how it ages a fence whose holder the role cannot see.
import { describe, expect, it } from 'vitest';
import { createFenceMonitor, OutboxFenceHeldError } from '../src/fence-monitor.js';
import type { SqlClient } from '../src/sql-client.js';

interface Answer {
  fence: string;
  waiting: number;
  session: Record<string, unknown> | null;
  prepared: Record<string, unknown> | null;
}

function scripted() {
  const state = { answer: undefined as Answer | undefined, queries: 0 };
  const pool: SqlClient = {
    async query() {
      state.queries += 1;
      return { rows: state.answer ? [{ ...state.answer }] : [], rowCount: 1 };
    },
  };
  return { pool, state };
}

const session = (ageMs: number) => ({
  pid: 4242,
  database: 'shop',
  application_name: 'batch-job',
  xact_start: '2026-12-07T08:00:00Z',
  age_ms: ageMs,
});

describe('fence monitor', () => {
  it('warns once per warnMs while records wait behind a fence older than warnMs, naming the holder', async () => {
    const { pool, state } = scripted();
    let clock = 0;
    const errors: unknown[] = [];
    const monitor = createFenceMonitor({
      pool,
      table: '"public"."eda_outbox"',
      warnMs: 4000,
      onError: (e) => errors.push(e),
      now: () => clock,
    });
    state.answer = { fence: '100', waiting: 3, session: session(3999), prepared: null };
    monitor.poke();
    await monitor.close();
    expect(errors, 'younger than warnMs').toEqual([]);
    clock += 1000;
    monitor.poke();
    await monitor.close();
    expect(state.queries, 'checks are at least max(1 s, warnMs / 2) apart').toBe(1);
    clock += 1000;
    state.answer = { fence: '100', waiting: 3, session: session(6000), prepared: null };
    monitor.poke();
    await monitor.close();
    expect(errors).toHaveLength(1);
    const warning = errors[0] as OutboxFenceHeldError;
    expect(warning).toBeInstanceOf(OutboxFenceHeldError);
    expect(warning).toMatchObject({ code: 'EDA_OUTBOX_FENCE_HELD', ageMs: 6000, waiting: 3 });
    expect(warning.holder).toMatchObject({ kind: 'session', pid: 4242 });
    expect(warning.message).toMatch(/backend 4242 .*application 'batch-job'.*server-wide/);
    clock += 2000;
    monitor.poke();
    await monitor.close();
    expect(errors, 'not again within warnMs').toHaveLength(1);
    clock += 2000;
    monitor.poke();
    await monitor.close();
    expect(errors, 'again after warnMs').toHaveLength(2);
  });

  it('does not warn when nothing waits behind the fence, however old its holder', async () => {
    const { pool, state } = scripted();
    const errors: unknown[] = [];
    const monitor = createFenceMonitor({
      pool,
      table: 't',
      warnMs: 1000,
      onError: (e) => errors.push(e),
    });
    state.answer = { fence: '7', waiting: 0, session: session(3_600_000), prepared: null };
    monitor.poke();
    await monitor.close();
    expect(errors).toEqual([]);
    expect(await monitor.lag()).toMatchObject({ ageMs: 3_600_000, waiting: 0 });
  });

  it('ages an invisible holder by how long it has seen the fence stand while records wait', async () => {
    const { pool, state } = scripted();
    let clock = 10_000;
    const monitor = createFenceMonitor({
      pool,
      table: 't',
      warnMs: false,
      onError: () => undefined,
      now: () => clock,
    });
    state.answer = { fence: '50', waiting: 2, session: null, prepared: null };
    expect(await monitor.lag()).toEqual({ ageMs: 0, waiting: 2 });
    clock += 700;
    expect(await monitor.lag()).toEqual({ ageMs: 700, waiting: 2 });
    state.answer = { fence: '51', waiting: 1, session: null, prepared: null };
    expect((await monitor.lag()).ageMs, 'the fence moved').toBe(0);
    state.answer = {
      fence: '51',
      waiting: 1,
      session: null,
      prepared: { gid: 'tx-1', database: 'shop', prepared: '2026-12-07T08:00:00Z', age_ms: 90_000 },
    };
    expect(await monitor.lag()).toMatchObject({
      ageMs: 90_000,
      holder: { kind: 'prepared', gid: 'tx-1' },
    });
  });

  it('reports a failed check to onError and never throws from poke()', async () => {
    const errors: unknown[] = [];
    const monitor = createFenceMonitor({
      pool: { query: () => Promise.reject(new Error('connection lost')) },
      table: 't',
      warnMs: 1000,
      onError: (e) => errors.push(e),
    });
    monitor.poke();
    await monitor.close();
    expect(errors.map((e) => (e as Error).message)).toEqual(['connection lost']);
  });
});
