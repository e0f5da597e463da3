// The crash run with Redis dedupe instead of the inbox: Redis cannot commit with the effect, so a
// consumer killed (or cut off from Redis) between its effect and the completion applies that
// effect again after the lease (the redis-dedupe README). Nothing may be lost, and every double
// must fall in that window: its first row written shortly before a fault on its service.
import { describe, expect, it } from 'vitest';
import { formatCrashReport } from '../src/crash-run/crash-report.js';
import { runCrashRun } from '../src/crash-run/crash-run.js';
import { crashRunEnv, expectNothingLost } from './expect-crash-run.js';

const { orders, ...replay } = crashRunEnv(20_000);

describe('order flow crash run, Redis dedupe', () => {
  it(`takes ${orders} orders through the flow while processes crash, brokers restart and Redis connections drop: nothing lost, doubles only in the documented window`, async () => {
    const report = await runCrashRun({ orders, dedupe: 'redis', ...replay });
    console.log(formatCrashReport(report));
    expectNothingLost(report, orders);
    expect(report.faults.redisConnections).toBeGreaterThan(0);
    expect(report.doubles.unexplained).toEqual([]);
    expect(report.doubles.explained).toHaveLength(report.verdict.doubled.length);
    expect(report.verdict.doubled.length).toBeLessThanOrEqual(report.doublesBound);
  }, 1_800_000); // a cap only: every wait in the run fails on no progress (120 s)
});
