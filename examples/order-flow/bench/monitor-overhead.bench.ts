// The workflow monitor's cost to the flow it watches: the measured path of the e2e benchmark
// (payments -> outbox relay -> Kafka -> inventory, each its own process) twice, in two
// namespaces, one with the monitor process (the relay and inventory then report audit records on
// Kafka, which the monitor stores in PostgreSQL) and one without; saturation rounds alternate.
// The ratio is orders/s with the monitor over orders/s without (target >= 0.9, issue 17). Both
// sets share the 2 cores, as a monitor beside its services would. Writes
// bench/results/workflow-monitor.json (next to the package's ingest benchmark).
import { loadavg } from 'node:os';
import { readEndpoints } from '@eda/test-services';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import { deleteNamespace } from '../src/delete-namespace.js';
import { type OursCommits, startOurs } from './ours-process-set.js';

const ORDERS = Number(process.env.EDA_BENCH_ORDERS ?? 500);
const ROUNDS = Number(process.env.EDA_BENCH_ROUNDS ?? 5);
const { postgresUrl } = readEndpoints();
const started = Date.now();
const log = (line: string) =>
  console.error(`${`+${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(8)}  ${line}`);
const onLine = (from: string, line: string) => {
  if (!/^\S+ {2}(published|sent|handled) /.test(line)) log(`${from.padEnd(12)} ${line}`);
};
/** Orders per second, first payment commit to last reservation commit. */
const throughput = (commits: readonly OursCommits[]) =>
  (commits.length * 1000) /
  (Math.max(...commits.map((c) => c.reservedAt)) - Math.min(...commits.map((c) => c.paidAt)));

const stamp = Date.now().toString(36);
const off = { namespace: `monitor-off-${stamp}` };
const on = { namespace: `monitor-on-${stamp}` };
const without = await startOurs({ postgresUrl, ...off, instances: {}, onLine });
const watched = await startOurs({ postgresUrl, ...on, instances: {}, onLine, withMonitor: true });
try {
  const samples = { on: [] as number[], off: [] as number[] };
  for (let r = 0; r <= ROUNDS; r++) {
    const first = r % 2 ? watched : without; // alternate which goes first
    const second = first === watched ? without : watched;
    const a = throughput(await first.saturate(`r${r}a-`, ORDERS));
    const b = throughput(await second.saturate(`r${r}b-`, ORDERS));
    const [onRate, offRate] = first === watched ? [a, b] : [b, a];
    log(
      `round ${r}${r ? '' : ' (warm-up)'}: monitor on ${Math.round(onRate)} orders/s, off ${Math.round(offRate)} orders/s`,
    );
    if (r === 0) continue;
    samples.on.push(onRate);
    samples.off.push(offRate);
  }
  const onStats = summarize(samples.on);
  const offStats = summarize(samples.off);
  const results: BenchResult[] = [
    {
      name: `order-flow throughput with the workflow monitor on vs off (payments -> relay -> Kafka -> inventory as processes, ${ORDERS} orders per round; on: the monitor process and the audit records of relay and inventory)`,
      unit: 'orders/s',
      ours: onStats.median,
      baseline: offStats.median,
      baselineName: 'the same processes without the monitor',
      ratio: onStats.median / offStats.median,
      params: {
        rounds: ROUNDS,
        onMin: onStats.min,
        onMax: onStats.max,
        offMin: offStats.min,
        offMax: offStats.max,
        node: process.version,
        loadavg: loadavg().map((l) => Number(l.toFixed(2))),
      },
    },
  ];
  writeResults('workflow-monitor', results);
} finally {
  await Promise.all([without.close(), watched.close()]);
  await Promise.all([deleteNamespace(off.namespace), deleteNamespace(on.namespace)]);
}
