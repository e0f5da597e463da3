// The end-to-end crash run in `pnpm test`: 20,000 orders through outbox -> Kafka -> inbox-deduped
// consumers -> a command on RabbitMQ -> invoices by claim check on S3, each service its own
// process, while relays and consumers are SIGKILLed and restarted, Kafka and RabbitMQ restarted,
// and the processes' PostgreSQL backends terminated. Judged from the services' own ledger.
import { describe, expect, it } from 'vitest';
import { formatCrashReport } from '../src/crash-run/crash-report.js';
import { runCrashRun } from '../src/crash-run/crash-run.js';
import { crashRunEnv, expectNothingLost } from './expect-crash-run.js';

const { orders, ...replay } = crashRunEnv(20_000);

describe('order flow crash run, PostgreSQL inbox', () => {
  it(`takes ${orders} orders through the flow while processes crash and brokers restart: nothing lost, nothing doubled, order kept, nothing dead-lettered`, async () => {
    const report = await runCrashRun({ orders, dedupe: 'inbox', ...replay });
    console.log(formatCrashReport(report));
    expectNothingLost(report, orders);
    // The inbox commits each effect with its dedupe row: exactly once, whatever was killed when.
    expect(report.verdict.doubled).toEqual([]);
  }, 1_800_000); // a cap only: every wait in the run fails on no progress (120 s)
});
