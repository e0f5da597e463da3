// Benchmarks of the outbox relay against hand-written SQL loops over the same PostgreSQL, run
// alternately in one process: drain throughput at batch sizes 1, 100 and 500, and
// commit-to-publish latency at a steady 1,000 events/s. Writes bench/results/postgres-outbox.json.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createInMemoryTransport,
  createOutboxRelay,
  type OutgoingMessage,
  type Transport,
} from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import pg from 'pg';
import { type BenchResult, median } from '../../../bench/write-results.js';
import { createPostgresOutboxStore, ensureOutboxSchema, withTransaction } from '../src/index.js';

const url = process.env.EDA_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `eda_bench_${randomBytes(3).toString('hex')}`;
const ROUNDS = 5;
const PAYLOAD_BYTES = 256;
const resultsFile = fileURLToPath(
  new URL('../../../bench/results/postgres-outbox.json', import.meta.url),
);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`create schema ${schema}`);
const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 8 });
await ensureOutboxSchema(pool, { schema });
await pool.query(`create table baseline_outbox (
  seq bigint generated always as identity primary key,
  payload bytea not null,
  headers jsonb not null)`);
const store = createPostgresOutboxStore({ pool, schema });
const deletingStore = createPostgresOutboxStore({
  pool,
  schema,
  completion: 'delete',
  notifications: false,
});
// The opt-in claim mode that holds row locks in an open transaction (one write per record).
const lockingStores = {
  mark: createPostgresOutboxStore({ pool, schema, claimMode: 'lock', notifications: false }),
  delete: createPostgresOutboxStore({
    pool,
    schema,
    claimMode: 'lock',
    completion: 'delete',
    notifications: false,
  }),
};
const serverVersion = (await pool.query('show server_version')).rows[0].server_version as string;
const synchronousCommit = (await pool.query('show synchronous_commit')).rows[0]
  .synchronous_commit as string;

function message(n: number): OutgoingMessage {
  const id = uuidv7();
  return {
    attributes: {
      id,
      type: 'bench.event',
      source: 'bench',
      specversion: '1.0',
      kind: 'event',
      datacontenttype: 'application/octet-stream',
      partitionkey: `agg-${n % 1000}`,
      correlationid: id,
      traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
    },
    body: randomBytes(PAYLOAD_BYTES),
  };
}

/** Fills both tables with the same number of equal-sized rows, in transactions of 1,000. */
async function fill(count: number) {
  await pool.query(`truncate eda_outbox, baseline_outbox`);
  for (let start = 0; start < count; start += 1000) {
    const messages = Array.from({ length: Math.min(1000, count - start) }, (_, i) =>
      message(start + i),
    );
    await withTransaction(pool, (client) => store.add(client, messages));
    await pool.query(
      'insert into baseline_outbox (payload, headers) select * from unnest($1::bytea[], $2::jsonb[])',
      [messages.map((m) => m.body), messages.map((m) => JSON.stringify(m.attributes))],
    );
  }
  await pool.query('vacuum analyze eda_outbox');
  await pool.query('vacuum analyze baseline_outbox');
}

function countingTransport(): Transport & { count: number } {
  const inner = createInMemoryTransport();
  const transport = {
    ...inner,
    count: 0,
    async publish(messages: readonly OutgoingMessage[]) {
      await inner.publish(messages);
      transport.count += messages.length;
    },
  };
  return transport;
}

/** The hand-written loop: delete a batch with RETURNING, decode it, publish it. */
async function baselineBatch(transport: Transport, batch: number): Promise<number> {
  const { rows } = await pool.query(
    `delete from baseline_outbox where seq in (
       select seq from baseline_outbox order by seq limit $1 for update skip locked)
     returning seq, payload, headers`,
    [batch],
  );
  rows.sort((a, b) => Number(a.seq) - Number(b.seq));
  if (rows.length)
    await transport.publish(rows.map((r) => ({ attributes: r.headers, body: r.payload })));
  return rows.length;
}

async function drainOurs(
  batch: number,
  completion: 'mark' | 'delete',
  claimMode: 'lease' | 'lock',
): Promise<number> {
  const transport = countingTransport();
  const relay = createOutboxRelay({
    store:
      claimMode === 'lock'
        ? lockingStores[completion]
        : completion === 'mark'
          ? store
          : deletingStore,
    transport,
    batchSize: batch,
    purge: false,
  });
  const started = performance.now();
  const published = await relay.drain();
  return published / ((performance.now() - started) / 1000);
}

async function drainBaseline(batch: number): Promise<number> {
  const transport = countingTransport();
  const started = performance.now();
  let total = 0;
  for (;;) {
    const n = await baselineBatch(transport, batch);
    if (n === 0) break;
    total += n;
  }
  return total / ((performance.now() - started) / 1000);
}

const results: BenchResult[] = [];

for (const [batch, events, completion, claimMode] of [
  [1, 1000, 'mark', 'lease'],
  [100, 20_000, 'mark', 'lease'],
  [500, 30_000, 'mark', 'lease'],
  [500, 30_000, 'delete', 'lease'],
  [1, 1000, 'delete', 'lock'],
  [100, 20_000, 'delete', 'lock'],
  [500, 30_000, 'mark', 'lock'],
  [500, 30_000, 'delete', 'lock'],
] as const) {
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    await fill(events);
    const a = await drainOurs(batch, completion, claimMode);
    const b = await drainBaseline(batch);
    // Round 0 warms up caches and JIT; it is not counted.
    if (r > 0) {
      ours.push(a);
      baseline.push(b);
    }
  }
  const o = median(ours);
  const b = median(baseline);
  results.push({
    name: `relay drain throughput, batch ${batch}, completion ${completion}${claimMode === 'lock' ? ', claimMode lock' : ''}, ${PAYLOAD_BYTES} B payload, into an in-memory publisher`,
    unit: 'events/s',
    ours: Math.round(o),
    baseline: Math.round(b),
    baselineName:
      'hand-written pg loop: DELETE ... RETURNING (FOR UPDATE SKIP LOCKED) at the same batch size',
    ratio: round(o / b),
    params: {
      batch,
      events,
      rounds: ROUNDS,
      completion,
      claimMode,
      oursMin: Math.round(Math.min(...ours)),
      oursMax: Math.round(Math.max(...ours)),
      baselineMin: Math.round(Math.min(...baseline)),
      baselineMax: Math.round(Math.max(...baseline)),
      synchronousCommit,
    },
  });
  console.error(
    `drain batch ${batch} (${completion}, ${claimMode}): ours ${Math.round(o)} ev/s, baseline ${Math.round(b)} ev/s`,
  );
}

/** Publish time minus commit time per message, whichever of the two is recorded first. */
function latencyRecorder() {
  const committedAt = new Map<string, number>();
  const publishedAt = new Map<string, number>();
  const inner = createInMemoryTransport();
  const transport: Transport = {
    ...inner,
    async publish(messages) {
      const now = performance.now();
      for (const m of messages)
        if (!publishedAt.has(m.attributes.id)) publishedAt.set(m.attributes.id, now);
    },
  };
  return {
    transport,
    committed: (id: string) => committedAt.set(id, performance.now()),
    published: () => publishedAt.size,
    // The relay can publish before the writer's COMMIT reply is processed: such a latency is 0.
    latencies: () =>
      [...committedAt].map(([id, at]) => Math.max(0, (publishedAt.get(id) ?? Number.NaN) - at)),
  };
}

/** Commit-to-publish latency of ours: writers commit one event per transaction at `rate`/s. */
async function latencyOurs(rate: number, seconds: number): Promise<number[]> {
  await pool.query('truncate eda_outbox');
  const recorder = latencyRecorder();
  const relay = createOutboxRelay({
    store,
    transport: recorder.transport,
    batchSize: 100,
    pollIntervalMs: 1000,
    purge: false,
  });
  relay.start();
  await steadyWrites(rate, seconds, async (m) => {
    await withTransaction(pool, (client) => store.add(client, [m]));
    recorder.committed(m.attributes.id);
  });
  await waitUntil(() => recorder.published() >= rate * seconds);
  await relay.stop();
  return recorder.latencies();
}

/** The hand-written equivalent: INSERT + pg_notify per transaction, LISTEN + DELETE RETURNING loop. */
async function latencyBaseline(rate: number, seconds: number): Promise<number[]> {
  await pool.query('truncate baseline_outbox');
  const recorder = latencyRecorder();
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  await listener.query('listen baseline_changes');
  let wake: (() => void) | undefined;
  listener.on('notification', () => wake?.());
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const n = await baselineBatch(recorder.transport, 100);
      if (n === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1000);
        });
        wake = undefined;
      }
    }
  })();
  await steadyWrites(rate, seconds, async (m) => {
    await withTransaction(pool, async (client) => {
      await client.query('insert into baseline_outbox (payload, headers) values ($1, $2)', [
        m.body,
        JSON.stringify(m.attributes),
      ]);
      await client.query(`select pg_notify('baseline_changes', '')`);
    });
    recorder.committed(m.attributes.id);
  });
  await waitUntil(() => recorder.published() >= rate * seconds);
  stopping = true;
  wake?.();
  await loop;
  await listener.end();
  return recorder.latencies();
}

/** Starts one write every 1000/rate ms on schedule (not after the previous one ends). */
async function steadyWrites(
  rate: number,
  seconds: number,
  write: (m: OutgoingMessage) => Promise<void>,
) {
  const total = rate * seconds;
  const interval = 1000 / rate;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(write(message(i)));
  }
  await Promise.all(inFlight);
}

async function waitUntil(condition: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('benchmark did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

{
  const rate = 1000;
  const seconds = 3;
  const p50: { ours: number[]; baseline: number[] } = { ours: [], baseline: [] };
  const p99: { ours: number[]; baseline: number[] } = { ours: [], baseline: [] };
  for (let r = 0; r <= ROUNDS; r++) {
    const a = await latencyOurs(rate, seconds);
    const b = await latencyBaseline(rate, seconds);
    if (r === 0) continue;
    p50.ours.push(percentile(a, 50));
    p99.ours.push(percentile(a, 99));
    p50.baseline.push(percentile(b, 50));
    p99.baseline.push(percentile(b, 99));
  }
  for (const [label, values] of [
    ['p50', p50],
    ['p99', p99],
  ] as const) {
    const o = median(values.ours);
    const b = median(values.baseline);
    results.push({
      name: `commit-to-publish latency ${label} at a steady ${rate} events/s (one event per transaction)`,
      unit: 'ms',
      ours: round(o),
      baseline: round(b),
      baselineName:
        'hand-written pg loop: INSERT + pg_notify, LISTEN + DELETE ... RETURNING batch 100',
      ratio: round(b / o),
      params: {
        rate,
        secondsPerRound: seconds,
        rounds: ROUNDS,
        batch: 100,
        oursMin: round(Math.min(...values.ours)),
        oursMax: round(Math.max(...values.ours)),
        baselineMin: round(Math.min(...values.baseline)),
        baselineMax: round(Math.max(...values.baseline)),
        synchronousCommit,
      },
    });
    console.error(`latency ${label}: ours ${round(o)} ms, baseline ${round(b)} ms`);
  }
}

await store.close();
await deletingStore.close();
await lockingStores.mark.close();
await lockingStores.delete.close();
await pool.end();
await admin.query(`drop schema ${schema} cascade`);
await admin.end();

writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(
  `PostgreSQL ${serverVersion}, synchronous_commit=${synchronousCommit}, Node ${process.version}\n`,
);
console.log('| measurement | ours | baseline | ratio |');
console.log('|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.ours} ${r.unit} | ${r.baseline} ${r.unit} | ${r.ratio} |`);
}
console.log(`\nwritten to ${resultsFile}`);
