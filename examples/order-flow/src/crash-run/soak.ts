// `pnpm --filter @eda/example-order-flow soak --duration 10m`: the crash run for as long as you
// like (after `pnpm services:up`). Orders are placed for the whole duration while the same
// harness as the test crashes processes and restarts brokers, then the run drains and is judged
// from the services' ledger; the report is printed and the exit code is 1 unless nothing was
// lost, doubled, reordered or dead-lettered.
//
// Options: --duration 10m (s, m or h) | --orders N (a fixed count instead), --seed N,
// --dedupe inbox|redis, --kafka single|cluster (a three-broker cluster of its own), --kills N, --no-broker-restarts, --no-connection-cuts, --keep.
// It restarts the machine's Kafka 4 broker and RabbitMQ: do not run it beside other tests.
import { parseArgs } from 'node:util';
import { startKafkaCluster, wipeKafkaCluster } from '@eda/test-services';
import { crashRunFailures, formatCrashReport } from './crash-report.js';
import { type CrashRunOptions, runCrashRun } from './crash-run.js';

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(text);
  if (!match)
    throw new Error(`--duration takes a number and a unit: 90s, 10m or 2h (got ${text}).`);
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
}

function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`--${name} takes a whole number (got ${text}).`);
  return value;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    orders: { type: 'string' },
    seed: { type: 'string' },
    dedupe: { type: 'string', default: 'inbox' },
    kafka: { type: 'string', default: 'single' },
    kills: { type: 'string' },
    'no-broker-restarts': { type: 'boolean', default: false },
    'no-connection-cuts': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
if (values.dedupe !== 'inbox' && values.dedupe !== 'redis')
  throw new Error(`--dedupe is inbox or redis (got ${values.dedupe}).`);
if (values.kafka !== 'single' && values.kafka !== 'cluster')
  throw new Error(`--kafka is single or cluster (got ${values.kafka}).`);
if (!values.duration && !values.orders)
  throw new Error('Say how long: --duration 10m, or --orders 20000.');
const orders = wholeNumber('orders', values.orders);
const seed = wholeNumber('seed', values.seed);
const kills = wholeNumber('kills', values.kills);
const options: CrashRunOptions = {
  dedupe: values.dedupe,
  kafka: values.kafka,
  keep: values.keep,
  ...(values.duration ? { durationMs: parseDuration(values.duration) } : {}),
  ...(orders !== undefined ? { orders } : {}),
  ...(seed !== undefined ? { seed } : {}),
  ...(kills !== undefined ? { kills } : {}),
  ...(values['no-broker-restarts'] ? { restartKafka: false, restartRabbitMq: false } : {}),
  ...(values['no-connection-cuts'] ? { postgresTerminations: 0, redisDrops: 0 } : {}),
};
// The cluster is the run's own: started empty here, removed afterwards.
if (values.kafka === 'cluster') {
  await wipeKafkaCluster();
  await startKafkaCluster();
}
const report = await runCrashRun(options).finally(async () => {
  if (values.kafka === 'cluster') await wipeKafkaCluster();
});
console.log(`\n${formatCrashReport(report)}`);
const failures = crashRunFailures(report);
if (failures.length) console.log(`\nFAILED: ${failures.join('; ')}`);
process.exit(failures.length ? 1 : 0);
