// Benchmarks of the PostgreSQL event store against hand-written pg over the same server, run
// alternately in one process: appends of 1 and 10 events per transaction, the combined commit
// (append + translated integration event into the outbox) and reading a 1,000-event stream.
// Writes bench/results/event-store.json.
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import {
  createEventCommitter,
  defineDomainEvent,
  defineEvent,
  domainEvent,
  type NewDomainEvent,
} from '@eda/core';
import pg from 'pg';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import {
  createPostgresEventStore,
  createPostgresOutboxStore,
  ensureEventStoreSchema,
  ensureOutboxSchema,
  withTransaction,
} from '../src/index.js';

const url = process.env.EDA_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `eda_es_bench_${randomBytes(3).toString('hex')}`;
const ROUNDS = 5;
const STREAMS = 100;

const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`create schema ${schema}`);
const pool = new pg.Pool({ connectionString: url, max: 4 });
await ensureEventStoreSchema(pool, { schema });
await ensureOutboxSchema(pool, { schema });
// The baselines write tables of the same definition: the same rows, the same (stream, version)
// primary key and the same indexes.
await pool.query(`create table ${schema}.base_events (like ${schema}.eda_events including all)`);
await pool.query(`create table ${schema}.base_outbox (like ${schema}.eda_outbox including all)`);
const store = createPostgresEventStore({ pool, schema });
const outbox = createPostgresOutboxStore({ pool, schema, notifications: false });
const committer = createEventCommitter({ service: 'inventory', store, outbox });
const serverVersion = (await pool.query('show server_version')).rows[0].server_version as string;

const StockReserved = defineDomainEvent<{ orderId: string; sku: string; quantity: number }>({
  type: 'stock.reserved',
});
const StockLevelChanged = defineEvent<{ sku: string; reserved: number }>({
  type: 'stock.level-changed',
  owner: 'inventory',
});
const data = (n: number) => ({
  orderId: randomUUID(),
  sku: `sku-${n % STREAMS}`,
  quantity: 1 + (n % 5),
});

/** Stream versions written so far, per side, so every append is at the right version. */
const versions = { ours: new Map<string, number>(), baseline: new Map<string, number>() };
let run = 0;
const nextStream = (side: keyof typeof versions, i: number) => {
  const stream = `stock-${run}-${i % STREAMS}`;
  const version = versions[side].get(stream) ?? 0;
  return { stream, version };
};

async function appendOurs(appends: number, perAppend: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < appends; i++) {
    const { stream, version } = nextStream('ours', i);
    const events: NewDomainEvent[] = [];
    for (let k = 0; k < perAppend; k++) events.push(domainEvent(StockReserved, data(i)));
    await store.transaction((tx) => store.append(tx, stream, version, events));
    versions.ours.set(stream, version + perAppend);
  }
  return (performance.now() - started) / 1000;
}

async function appendBaseline(appends: number, perAppend: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < appends; i++) {
    const { stream, version } = nextStream('baseline', i);
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let k = 0; k < perAppend; k++) {
      const p = values.length;
      tuples.push(`($${p + 1}, $${p + 2}, $${p + 3}, 1, $${p + 4}, pg_current_xact_id())`);
      values.push(stream, version + k + 1, StockReserved.type, JSON.stringify(data(i)));
    }
    await withTransaction(pool, (client) =>
      client.query(
        `insert into ${schema}.base_events (stream, version, type, schema_version, data, tx_order) values ${tuples.join(', ')}`,
        values,
      ),
    );
    versions.baseline.set(stream, version + perAppend);
  }
  return (performance.now() - started) / 1000;
}

async function commitOurs(commits: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < commits; i++) {
    const { stream, version } = nextStream('ours', i);
    await committer.commit(stream, version, [domainEvent(StockReserved, data(i))], {
      publish: (event, publish) =>
        publish(StockLevelChanged, { sku: event.data.sku, reserved: event.data.quantity }),
    });
    versions.ours.set(stream, version + 1);
  }
  return (performance.now() - started) / 1000;
}

const insertOutboxRow = `insert into ${schema}.base_outbox (id, aggregatetype, aggregateid, type, payload, headers) values ($1, $2, $3, $2, $4, $5)`;
async function commitBaseline(commits: number, notify = false): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < commits; i++) {
    const { stream, version } = nextStream('baseline', i);
    const event = data(i);
    const id = randomUUID();
    const headers = {
      id,
      type: StockLevelChanged.type,
      source: 'inventory',
      specversion: '1.0',
      kind: 'event',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      partitionkey: stream,
      version: String(version + 1),
    };
    await withTransaction(pool, async (client) => {
      await client.query(
        `insert into ${schema}.base_events (stream, version, type, schema_version, data, tx_order) values ($1, $2, $3, 1, $4, pg_current_xact_id())`,
        [stream, version + 1, StockReserved.type, JSON.stringify(event)],
      );
      await client.query(
        notify
          ? `with inserted as (${insertOutboxRow} returning 1) select pg_notify('base_outbox_changes', '')`
          : insertOutboxRow,
        [
          id,
          StockLevelChanged.type,
          stream,
          Buffer.from(JSON.stringify({ sku: event.sku, reserved: event.quantity })),
          JSON.stringify(headers),
        ],
      );
    });
    versions.baseline.set(stream, version + 1);
  }
  return (performance.now() - started) / 1000;
}

const READ_STREAM = 'stock-read';
async function seedReadStream() {
  for (let v = 0; v < 1000; v += 100) {
    const events = Array.from({ length: 100 }, (_, k) => domainEvent(StockReserved, data(v + k)));
    await store.transaction((tx) => store.append(tx, READ_STREAM, v, events));
  }
}

async function readOurs(reads: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < reads; i++) {
    const events = await store.readStream(READ_STREAM);
    if (events.length !== 1000) throw new Error(`read ${events.length} events`);
  }
  return (performance.now() - started) / 1000;
}

async function readBaseline(reads: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < reads; i++) {
    const { rows } = await pool.query(
      `select * from ${schema}.eda_events where stream = $1 order by version`,
      [READ_STREAM],
    );
    if (rows.length !== 1000) throw new Error(`read ${rows.length} rows`);
  }
  return (performance.now() - started) / 1000;
}

const results: BenchResult[] = [];
/**
 * A warm-up round, then ROUNDS rounds. Each round runs ours and the baseline alternately in
 * CHUNKS small chunks (the side that goes first alternates), so a slow moment of a shared,
 * noisy machine falls on both sides rather than on one; a round's rate is its events over the
 * summed time of its chunks.
 */
const CHUNKS = 10;
async function measure(
  name: string,
  baselineName: string,
  params: Record<string, unknown>,
  eventsPerChunk: number,
  ours: () => Promise<number>,
  baseline: () => Promise<number>,
) {
  const o: number[] = [];
  const b: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    run += 1;
    let oursSeconds = 0;
    let baselineSeconds = 0;
    for (let c = 0; c < CHUNKS; c++) {
      if ((r + c) % 2) {
        baselineSeconds += await baseline();
        oursSeconds += await ours();
      } else {
        oursSeconds += await ours();
        baselineSeconds += await baseline();
      }
    }
    if (r === 0) continue;
    o.push((eventsPerChunk * CHUNKS) / oursSeconds);
    b.push((eventsPerChunk * CHUNKS) / baselineSeconds);
  }
  const so = summarize(o);
  const sb = summarize(b);
  results.push({
    name,
    unit: 'events/s',
    ours: Math.round(so.median),
    baseline: Math.round(sb.median),
    baselineName,
    ratio: Number((so.median / sb.median).toFixed(2)),
    params: {
      ...params,
      rounds: ROUNDS,
      chunksPerRound: CHUNKS,
      oursMin: Math.round(so.min),
      oursMax: Math.round(so.max),
      baselineMin: Math.round(sb.min),
      baselineMax: Math.round(sb.max),
      postgres: serverVersion,
      node: process.version,
      loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
    },
  });
  console.error(`${name}: ours ${Math.round(so.median)}, baseline ${Math.round(sb.median)}`);
}

await measure(
  'append throughput, 1 event per append (one transaction each), ~90 B JSON data',
  'hand-written pg: BEGIN, INSERT of the same row into a table of the same definition (same (stream, version) primary key), COMMIT',
  { eventsPerAppend: 1, appendsPerRound: 1000, streams: STREAMS },
  100,
  () => appendOurs(100, 1),
  () => appendBaseline(100, 1),
);
await measure(
  'append throughput, 10 events per append (one transaction each), ~90 B JSON data',
  'hand-written pg: BEGIN, one INSERT of the same 10 rows (VALUES list) into a table of the same definition, COMMIT',
  { eventsPerAppend: 10, appendsPerRound: 300, streams: STREAMS },
  300,
  () => appendOurs(30, 10),
  () => appendBaseline(30, 10),
);
await measure(
  'combined commit throughput: 1 domain event + its translated integration event into the outbox, one transaction each',
  'hand-written pg: BEGIN, INSERT of the event row, INSERT of the outbox row (same tables), COMMIT',
  { eventsPerAppend: 1, integrationEventsPerAppend: 1, commitsPerRound: 1000, streams: STREAMS },
  100,
  () => commitOurs(100),
  () => commitBaseline(100),
);
// The outbox's add() also NOTIFYs its channel to wake relays at once; PostgreSQL serialises the
// commits of notifying transactions, which the plain INSERTs above do not pay.
await measure(
  'combined commit throughput, as above, against the same INSERTs plus the pg_notify that the outbox sends to wake relays',
  'hand-written pg: BEGIN, INSERT of the event row, INSERT of the outbox row and pg_notify, COMMIT',
  {
    eventsPerAppend: 1,
    integrationEventsPerAppend: 1,
    commitsPerRound: 1000,
    streams: STREAMS,
    notify: true,
  },
  100,
  () => commitOurs(100),
  () => commitBaseline(100, true),
);
await seedReadStream();
await measure(
  'read a stream of 1,000 events (readStream)',
  'hand-written pg: SELECT * ... WHERE stream = $1 ORDER BY version',
  { streamLength: 1000, readsPerRound: 40 },
  4000,
  () => readOurs(4),
  () => readBaseline(4),
);

await store.close();
await outbox.close();
await pool.end();
await admin.query(`drop schema ${schema} cascade`);
await admin.end();
writeResults('event-store', results);
