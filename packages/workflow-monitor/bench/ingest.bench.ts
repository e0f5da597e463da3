// Monitor ingest on PostgreSQL against a raw batched INSERT of the same rows, alternately in one
// process. Records arrive as the audit consumer hands them over: batches of 200 from many flows
// interleaved, each flow the shape of an order (a publish, three handlings, two publishes, two
// handlings: 8 records), its records spread over several batches. Ours stores the records and
// re-derives each touched flow (the state, deadlines, the flows table); the baseline only inserts
// the records into a table of the same definition (primary key, flow index, ON CONFLICT DO
// NOTHING), the least any durable monitor must do. Writes bench/results/workflow-monitor.json.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import {
  type AuditRecord,
  createPostgresMonitorStore,
  createWorkflowMonitor,
  defineWorkflow,
  ensureMonitorSchema,
} from '../src/index.js';

const url = process.env.EDA_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `eda_monitor_bench_${randomBytes(3).toString('hex')}`;
const ROUNDS = 5;
const FLOWS = 2_500;
const BATCH = 200;

const pool = new pg.Pool({ connectionString: url, max: 4 });
await ensureMonitorSchema(pool, { schema });
await pool.query(
  `create table "${schema}".base_records (like "${schema}".eda_monitor_records including all)`,
);
const serverVersion = (await pool.query('show server_version')).rows[0].server_version as string;
const order = defineWorkflow({
  name: 'order',
  startsWith: 'payment.completed',
  endsWith: { all: ['order.shipped', 'invoice.issued'] },
  steps: [
    { type: 'ship.order', service: 'shipping', deadlineMs: 5_000 },
    { type: 'payment.completed', service: 'billing', deadlineMs: 5_000 },
  ],
  deadlineMs: 10_000,
});
const monitor = createWorkflowMonitor({
  store: createPostgresMonitorStore({ pool, schema }),
  workflows: [order],
});

const STEPS: ReadonlyArray<Pick<AuditRecord, 'action' | 'service' | 'type'> & { sub?: string }> = [
  { action: 'relayed', service: 'payments', type: 'payment.completed' },
  { action: 'handled', service: 'inventory', type: 'payment.completed', sub: 'inventory' },
  { action: 'handled', service: 'billing', type: 'payment.completed', sub: 'billing' },
  { action: 'relayed', service: 'inventory', type: 'ship.order' },
  { action: 'handled', service: 'shipping', type: 'ship.order', sub: 'shipping' },
  { action: 'published', service: 'shipping', type: 'order.shipped' },
  { action: 'published', service: 'billing', type: 'invoice.issued' },
  { action: 'handled', service: 'notifications', type: 'order.shipped', sub: 'notifications' },
];

/** One round's records in arrival order: step k of every flow in a window of flows at a time. */
function roundRecords(round: string): AuditRecord[] {
  const records: AuditRecord[] = [];
  const started = Date.now();
  // 100 flows in flight: a flow's 8 records land in different batches, as on a busy system.
  for (let first = 0; first < FLOWS; first += 100)
    for (const [k, step] of STEPS.entries())
      for (let f = first; f < Math.min(first + 100, FLOWS); f++)
        records.push({
          id: `${round}-${f}-${k}`,
          action: step.action,
          service: step.service,
          ...(step.sub ? { subscription: step.sub, attempt: 1, durationMs: 2 } : {}),
          messageId: `${round}-${f}-m${k}`,
          type: step.type,
          correlationId: `${round}-flow-${f}`,
          ...(k ? { causationId: `${round}-${f}-m0` } : {}),
          at: started + f * 3 + k,
        });
  return records;
}

async function ours(records: readonly AuditRecord[]): Promise<number> {
  const began = performance.now();
  for (let i = 0; i < records.length; i += BATCH) await monitor.ingest(records.slice(i, i + BATCH));
  return records.length / ((performance.now() - began) / 1000);
}

async function baseline(records: readonly AuditRecord[]): Promise<number> {
  const began = performance.now();
  for (let i = 0; i < records.length; i += BATCH) {
    const batch = records.slice(i, i + BATCH);
    await pool.query(
      `insert into "${schema}".base_records (record_id, correlation_id, at, record)
       select * from unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[])
       on conflict (record_id) do nothing`,
      [
        batch.map((r) => r.id),
        batch.map((r) => r.correlationId),
        batch.map((r) => r.at),
        batch.map((r) => JSON.stringify(r)),
      ],
    );
  }
  return records.length / ((performance.now() - began) / 1000);
}

try {
  await ours(roundRecords('warm-ours'));
  await baseline(roundRecords('warm-base'));
  const oursRates: number[] = [];
  const baseRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    oursRates.push(await ours(roundRecords(`o${round}`)));
    baseRates.push(await baseline(roundRecords(`b${round}`)));
  }
  const o = summarize(oursRates);
  const b = summarize(baseRates);
  const completed = (await monitor.flows({ state: 'completed', limit: 1 })).length;
  if (!completed) throw new Error('The benchmark flows did not complete: the records are wrong.');
  const results: BenchResult[] = [
    {
      name: `monitor ingest on PostgreSQL, batches of ${BATCH}, ${FLOWS} order flows of ${STEPS.length} records per round (records + flow derivation)`,
      unit: 'records/s',
      ours: o.median,
      baseline: b.median,
      baselineName: 'pg batched INSERT of the same rows (records only)',
      ratio: o.median / b.median,
      params: {
        rounds: ROUNDS,
        oursMin: o.min,
        oursMax: o.max,
        baselineMin: b.min,
        baselineMax: b.max,
        postgres: serverVersion,
        node: process.version,
        loadavg: loadavg().map((l) => Number(l.toFixed(2))),
      },
    },
  ];
  writeResults('workflow-monitor', results);
} finally {
  await pool.query(`drop schema "${schema}" cascade`);
  await pool.end();
}
