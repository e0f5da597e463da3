// The end-to-end crash run in `pnpm test`: 20,000 orders through outbox -> Kafka -> inbox-deduped
// consumers -> a command on RabbitMQ -> invoices by claim check on S3, each service its own
// process, while relays and consumers are SIGKILLed and restarted, Kafka and RabbitMQ restarted,
// and the processes' PostgreSQL backends terminated. Judged from the services' own ledger.
// EDA_CRASH_SEED replays a run's fault plan; EDA_CRASH_ORDERS changes the order count.
import { describe, expect, it } from 'vitest';
import { formatCrashReport } from '../src/crash-run/crash-report.js';
import { runCrashRun } from '../src/crash-run/crash-run.js';
import { totalKills } from '../src/crash-run/fault-driver.js';

const seed = process.env.EDA_CRASH_SEED ? Number(process.env.EDA_CRASH_SEED) : undefined;
const orders = Number(process.env.EDA_CRASH_ORDERS || 20_000);

describe('order flow crash run', () => {
  it(`takes ${orders} orders through the flow with the inbox while processes crash and brokers restart: nothing lost, nothing doubled, order kept, nothing dead-lettered`, async () => {
    const report = await runCrashRun({ orders, dedupe: 'inbox', ...(seed ? { seed } : {}) });
    console.log(formatCrashReport(report));

    expect(report.ordersPlaced).toBe(orders);
    expect(report.verdict.orders).toBe(orders);
    expect(report.verdict.lost).toEqual([]);
    expect(report.verdict.doubled).toEqual([]);
    expect(report.verdict.orderViolations).toEqual([]);
    expect(report.verdict.strangers).toBe(0);
    expect(report.outboxDead).toBe(0);
    expect(report.deadLetters.total).toBe(0);
    expect(report.deadLetteredLines).toBe(0);
    expect(report.unexpectedExits).toEqual([]);
    expect(report.uncleanStops).toEqual([]);
    // The faults really happened.
    expect(totalKills(report.faults)).toBeGreaterThanOrEqual(10);
    expect(report.faults.kafkaRestarts).toBe(1);
    expect(report.faults.rabbitMqRestarts).toBe(1);
    expect(report.faults.postgresConnections).toBeGreaterThan(0);
  }, 1_800_000); // a cap only: every wait in the run fails on no progress (120 s)
});
