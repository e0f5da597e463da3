// The end-to-end benchmark of the order flow as separate processes: orders per second and the
// latency from a payment's commit to its inventory reservation (outbox -> Kafka -> consumer with
// the PostgreSQL inbox), against the same stages written by hand with pg and kafkajs and timed
// one at a time in the same run. Writes bench/results/e2e.json (format: shared notes BENCH.md).
//
// Options: --orders=<per round> --rounds=<counted rounds> --latency-seconds=<paced run>
//          --relay=<instances> --inventory=<instances> --keep (keep the run's topics, queues, schema)
import { cpus, loadavg } from 'node:os';
import { connectRabbit, readEndpoints } from '@eda/test-services';
import pg from 'pg';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import { deleteNamespace } from '../src/delete-namespace.js';
import { schemaOf } from '../src/real-infrastructure.js';
import { type OursCommits, startOurs } from './ours-process-set.js';
import { openRawStages, RAW_RELAY_BATCH } from './raw-stages.js';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer (got ${arg}).`);
  return value;
}

const ORDERS = option('orders', 500);
const ROUNDS = option('rounds', 5);
const LATENCY_SECONDS = option('latency-seconds', 10);
const instances = { relay: option('relay', 1), inventory: option('inventory', 1) };

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round2 = (value: number) => Number(value.toFixed(2));
const latencies = (commits: readonly OursCommits[]) => commits.map((c) => c.reservedAt - c.paidAt);
/** Where the latency goes: commit -> relay marked published, then -> reservation committed. */
const latencySplit = (commits: readonly OursCommits[]) => {
  const relayed = commits.map((c) => c.publishedAt - c.paidAt);
  const consumed = commits.map((c) => c.reservedAt - c.publishedAt);
  return {
    commitToPublishedP50: round2(percentile(relayed, 50)),
    commitToPublishedP99: round2(percentile(relayed, 99)),
    publishedToReservedP50: round2(percentile(consumed, 50)),
    publishedToReservedP99: round2(percentile(consumed, 99)),
  };
};
/** Orders through the whole path per second: first payment commit to last reservation commit. */
const throughput = (commits: readonly OursCommits[]) =>
  (commits.length * 1000) /
  (Math.max(...commits.map((c) => c.reservedAt)) - Math.min(...commits.map((c) => c.paidAt)));
/** Payments committed per second, first to last payment of the orders. */
const paymentRate = (commits: readonly OursCommits[]) => {
  const paid = commits.map((c) => c.paidAt);
  return ((commits.length - 1) * 1000) / (Math.max(...paid) - Math.min(...paid));
};
const spread = (samples: readonly number[]) => {
  const { median, min, max } = summarize(samples);
  return { median: Math.round(median), min: Math.round(min), max: Math.round(max) };
};

async function machineFacts(postgresUrl: string) {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  const { rows } = await client.query(
    `select current_setting('server_version') as version, current_setting('synchronous_commit') as sync`,
  );
  await client.end();
  const rabbit = await connectRabbit('e2e-bench');
  const server = (rabbit as unknown as { connection: { serverProperties?: { version?: string } } })
    .connection.serverProperties;
  await rabbit.close();
  return {
    cores: cpus().length,
    // The machine is shared: how busy it was when the run began (1-minute load average).
    loadAverageAtStart: round2(loadavg()[0]!),
    cpu: cpus()[0]?.model,
    node: process.version,
    // The version scripts/services runs (a broker at another address is assumed to be the same).
    kafka: `${process.env.EDA_KAFKA4_VERSION ?? '4.4.0'} single-node KRaft at ${readEndpoints().kafkaBrokers.join(',')}`,
    postgres: rows[0].version as string,
    synchronousCommit: rows[0].sync as string,
    rabbitmq: server?.version,
  };
}

const { postgresUrl } = readEndpoints();
const namespace = `e2e-bench-${Date.now().toString(36)}`;
const benchStarted = Date.now();
const log = (line: string) =>
  console.error(`${`+${((Date.now() - benchStarted) / 1000).toFixed(1)}s`.padStart(8)}  ${line}`);
// Every order's progress lines are dropped (four per order); anything else a process says
// (retries, dead letters, connection trouble, exits) is shown.
const progress = /^\S+ {2}(published|sent|handled) /;
const onLine = (from: string, line: string) => {
  if (!progress.test(line)) log(`${from.padEnd(12)} ${line}`);
};

const facts = await machineFacts(postgresUrl);
log(`namespace ${namespace}; ${JSON.stringify(facts)}`);
const ours = await startOurs({ postgresUrl, namespace, instances, onLine });
const results: BenchResult[] = [];
let finished = false;
try {
  const raw = await openRawStages({ postgresUrl, schema: schemaOf(namespace), namespace });
  log(`running ${ours.names.join(', ')}; ${ORDERS} orders per round, round 0 warms up`);
  const samples = {
    ours: [] as number[],
    commit: [] as number[],
    relay: [] as number[],
    consume: [] as number[],
    consumeSends: [] as number[],
  };
  const saturatedP50: number[] = [];
  const saturatedP99: number[] = [];
  /** How fast payments committed alone (first to last payment): ours' first stage. */
  const paymentRates: number[] = [];
  try {
    for (let r = 0; r <= ROUNDS; r++) {
      const commits = await ours.saturate(`s${r}-`, ORDERS);
      const lat = latencies(commits);
      const round = {
        ours: throughput(commits),
        commit: await raw.commitPayments(Array.from({ length: ORDERS }, (_, i) => `raw${r}-${i}`)),
        relay: await raw.relay(r),
        consume: await raw.consume(r, ORDERS, false),
        consumeSends: await raw.consume(r, ORDERS, true),
      };
      log(
        `round ${r}${r ? '' : ' (warm-up)'}: ours ${Math.round(round.ours)} orders/s (payments committed ${Math.round(paymentRate(commits))}/s; latency p50 ${Math.round(percentile(lat, 50))} ms, p99 ${Math.round(percentile(lat, 99))} ms, ${JSON.stringify(latencySplit(commits))}); raw (a) commit ${Math.round(round.commit)}/s, (b) relay ${Math.round(round.relay)}/s, (c) consume ${Math.round(round.consume)}/s, (c+) consume and send ${Math.round(round.consumeSends)}/s`,
      );
      if (r === 0) continue;
      for (const key of ['ours', 'commit', 'relay', 'consume', 'consumeSends'] as const)
        samples[key].push(round[key]);
      saturatedP50.push(percentile(lat, 50));
      saturatedP99.push(percentile(lat, 99));
      paymentRates.push(paymentRate(commits));
    }
  } finally {
    await raw.close();
  }

  const stages = {
    commit: {
      ...spread(samples.commit),
      what: '(a) payment row + event row in one pg transaction, one order at a time',
    },
    relay: {
      ...spread(samples.relay),
      what: `(b) hand-written relay: SELECT ... FOR UPDATE SKIP LOCKED LIMIT ${RAW_RELAY_BATCH}, kafkajs send (acks -1), UPDATE published_at, COMMIT`,
    },
    consume: {
      ...spread(samples.consume),
      what: '(c) kafkajs consumer (eachMessage, 3 partitions at once): inbox INSERT ON CONFLICT DO NOTHING + ledger INSERT in one pg transaction',
    },
    consumeSends: {
      ...spread(samples.consumeSends),
      what: "(c+) the consumer of (c) also sending inventory's event (kafkajs, acks -1) and command (amqplib, confirmed) before its COMMIT, as inventory does",
    },
  };
  const saturation = summarize(samples.ours).median;
  const processes = `${ours.names.join(', ')} (shipping, billing, notifications not started)`;
  // Against the slowest of the stages that do the work ours does (c+), and against the slowest
  // of the stages as issue 14 words them (c: no sends), which flatters the baseline less.
  for (const [label, consumer] of [
    ['each doing the work of ours', stages.consumeSends],
    ['consumer without its sends', stages.consume],
  ] as const) {
    const slowest = [stages.commit, stages.relay, consumer].reduce((a, b) =>
      b.median < a.median ? b : a,
    );
    results.push({
      name: `end-to-end throughput, payment commit -> inventory reservation (outbox -> Kafka -> PostgreSQL-inbox consumer), separate processes, ${ORDERS} orders offered at once per round; raw stages ${label}`,
      unit: 'orders/s',
      ours: Math.round(saturation),
      baseline: slowest.median,
      baselineName: `slowest raw stage alone: ${slowest.what}`,
      ratio: round2(saturation / slowest.median),
      params: {
        processes,
        ordersPerRound: ORDERS,
        rounds: ROUNDS,
        oursMin: Math.round(Math.min(...samples.ours)),
        oursMax: Math.round(Math.max(...samples.ours)),
        rawStages: { commit: stages.commit, relay: stages.relay, consume: consumer },
        oursPaymentsCommitRate: spread(paymentRates),
        latencyAtSaturationMs: {
          p50Median: Math.round(summarize(saturatedP50).median),
          p99Median: Math.round(summarize(saturatedP99).median),
        },
        ...facts,
      },
    });
  }

  const rate = Math.max(1, Math.round(saturation / 2));
  const count = rate * LATENCY_SECONDS;
  log(
    `paced run: ${count} orders at ${rate} orders/s (half of the saturation ${Math.round(saturation)}/s)`,
  );
  const paced = await ours.paced('p-', rate, count);
  const lat = latencies(paced);
  log(
    `paced: latency p50 ${round2(percentile(lat, 50))} ms, p99 ${round2(percentile(lat, 99))} ms, ${JSON.stringify(latencySplit(paced))}`,
  );
  for (const p of [50, 99]) {
    results.push({
      name: `end-to-end latency p${p}, payment commit -> inventory reservation commit, at half of saturation (${rate} orders/s paced), separate processes`,
      unit: 'ms',
      ours: round2(percentile(lat, p)),
      baseline: null,
      baselineName: null,
      ratio: null,
      params: {
        processes,
        offeredRate: rate,
        saturation: Math.round(saturation),
        paidRate: Math.round(paymentRate(paced)),
        orders: count,
        minMs: round2(Math.min(...lat)),
        maxMs: round2(Math.max(...lat)),
        ...latencySplit(paced),
        timing:
          'commit stamps taken by PostgreSQL (deferred trigger, clock_timestamp at COMMIT) on both ledger rows',
        ...facts,
      },
    });
  }
  finished = true;
} finally {
  await ours.close();
  // A failed run keeps its tables and topics to be looked at.
  if (process.argv.includes('--keep') || !finished)
    log(`kept namespace ${namespace} (${finished ? '--keep' : 'the run failed'})`);
  else {
    log(`removing namespace ${namespace} (--keep keeps it)`);
    await deleteNamespace(namespace);
  }
}
writeResults('e2e', results);
