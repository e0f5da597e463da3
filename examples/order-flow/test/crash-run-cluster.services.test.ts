// The crash run on a three-broker Kafka cluster (KRaft, replication factor 3, min.insync.replicas
// 2, producers at acks -1), whose leader of a payment.completed partition is SIGKILLed mid-run
// (instead of restarting the single broker), with the inbox. The test starts the cluster on
// ports of its own and removes it afterwards: CI has only the services `pnpm services:up` starts.
import { startKafkaCluster, wipeKafkaCluster } from '@eda/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCrashReport } from '../src/crash-run/crash-report.js';
import { runCrashRun } from '../src/crash-run/crash-run.js';
import { crashRunEnv, expectNothingLost } from './expect-crash-run.js';

// 5,000 orders by default: the inbox run of 20,000 took 942 s here (load ~19), and CI runs all
// three; EDA_CRASH_ORDERS=20000 runs this one at the full count.
const { orders, ...replay } = crashRunEnv(5_000);

describe('order flow crash run, three-broker Kafka cluster', () => {
  beforeAll(async () => {
    await wipeKafkaCluster(); // an empty cluster, whatever an earlier run left
    await startKafkaCluster();
  }, 300_000);
  afterAll(() => wipeKafkaCluster(), 120_000);

  it(`takes ${orders} orders through the flow while the partition leader is killed: nothing lost, nothing doubled, order kept`, async () => {
    const report = await runCrashRun({ orders, dedupe: 'inbox', kafka: 'cluster', ...replay });
    console.log(formatCrashReport(report));
    expectNothingLost(report, orders);
    expect(report.verdict.doubled).toEqual([]);
  }, 1_800_000); // a cap only: every wait in the run fails on no progress (120 s)
});
