// The crash run with Redis dedupe instead of the inbox: Redis cannot commit with the effect, so a
// consumer killed (or cut off from Redis) between its effect and the completion applies that
// effect again after the lease (the redis-dedupe README). So does a handler whose publish fails
// after its effect (a broker restarting): the handling fails, the claim is released, the retry
// applies the effect again (seen in the first run: 4 billing doubles during the Kafka restart;
// the README does not name this way yet). Nothing may be lost, and every double must be explained
// by those faults, counted against what they can cut short.
import { describe, expect, it } from 'vitest';
import { formatCrashReport } from '../src/crash-run/crash-report.js';
import { runCrashRun } from '../src/crash-run/crash-run.js';
import { crashRunEnv, expectNothingLost } from './expect-crash-run.js';

// 5,000 orders by default: the inbox run of 20,000 took 942 s here (load ~19), and CI runs all
// three; EDA_CRASH_ORDERS=20000 runs this one at the full count.
const { orders, ...replay } = crashRunEnv(5_000);

describe('order flow crash run, Redis dedupe', () => {
  it(`takes ${orders} orders through the flow while processes crash, brokers restart and Redis connections drop: nothing lost, doubles only in the documented window`, async () => {
    const report = await runCrashRun({ orders, dedupe: 'redis', ...replay });
    console.log(formatCrashReport(report));
    expectNothingLost(report, orders);
    expect(report.faults.redisConnections).toBeGreaterThan(0);
    // Held to the count the faults can cut short. Which fault caused each double is reported, not
    // asserted: the attribution is by time, and a publish can keep failing after the broker is
    // back (a loaded full run on 2 cores had 5 of 40 billing doubles after the Kafka restart's
    // window, all within the bound of 188). Holding every double to a named fault is left open
    // in issue 14, with the fix in the example (Redis mode: the effect and what it publishes in
    // one PostgreSQL transaction, through the outbox).
    expect(report.verdict.doubled.length).toBeLessThanOrEqual(report.doublesBound);
  }, 1_800_000); // a cap only: every wait in the run fails on no progress (120 s)
});
