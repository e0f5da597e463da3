// Benchmarks of @eda/redis-dedupe against the real Redis, each compared with a baseline in the
// same run, alternating after a warm-up (BENCH.md):
// 1. consumer throughput over the in-memory transport with dedupe (coalesced claims and
//    completions) vs the same consumer without dedupe;
// 2. claims per second vs a raw ioredis SET NX PX loop at the same pipelining.
// Writes bench/results/redis-dedupe.json at the repository root and prints a table.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createBus,
  createInMemoryTransport,
  defineCommand,
  type IdempotencyOptions,
  on,
} from '@eda/core';
import { endpoints } from '@eda/test-services';
import { Redis } from 'ioredis';
import { type BenchResult, median } from '../../../bench/write-results.js';
import { createRedisIdempotencyStore } from '../src/index.js';

const ROUNDS = 5;
const resultFile = fileURLToPath(
  new URL('../../../bench/results/redis-dedupe.json', import.meta.url),
);

const round = (n: number, digits = 0) => Number(n.toFixed(digits));

/** Runs warm-up once each, then ours and the baseline alternately; returns the medians. */
async function compare(
  ours: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<{ ours: number; baseline: number; oursAll: number[]; baselineAll: number[] }> {
  await ours();
  await baseline();
  const oursAll: number[] = [];
  const baselineAll: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first so drift (GC, Redis memory) does not favour one side.
    if (i % 2) {
      baselineAll.push(await baseline());
      oursAll.push(await ours());
    } else {
      oursAll.push(await ours());
      baselineAll.push(await baseline());
    }
  }
  return { ours: median(oursAll), baseline: median(baselineAll), oursAll, baselineAll };
}

function entry(
  name: string,
  unit: string,
  baselineName: string,
  result: Awaited<ReturnType<typeof compare>>,
  params: Record<string, unknown>,
): BenchResult {
  return {
    name,
    unit,
    ours: round(result.ours),
    baseline: round(result.baseline),
    baselineName,
    ratio: round(result.ours / result.baseline, 3),
    params: {
      ...params,
      rounds: ROUNDS,
      oursMin: round(Math.min(...result.oursAll)),
      oursMax: round(Math.max(...result.oursAll)),
      baselineMin: round(Math.min(...result.baselineAll)),
      baselineMax: round(Math.max(...result.baselineAll)),
    },
  };
}

const client = new Redis(endpoints.redisUrl, {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  lazyConnect: true,
});
await client.connect();
const runPrefix = `eda-bench-dedupe-${Date.now().toString(36)}:`;
// The handlers' own I/O in the lines where they read Redis, on a connection of their own.
const handlerIo = new Redis(endpoints.redisUrl);
const HANDLER_KEY = `${runPrefix}handler-data`;
await handlerIo.set(HANDLER_KEY, 'a value the handler reads');

async function deletePrefix(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    if (keys.length) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

// 1. Consumer throughput.
const Work = defineCommand<{ n: number; note: string }>({ type: 'bench.work', owner: 'worker' });

async function consume(options: {
  messages: number;
  concurrency: number;
  handlerDelayMs: number;
  dedupe: boolean;
  /** Sequential GETs of one key on a connection of the handler's own: cheap real I/O. */
  handlerGets?: number;
  splitBatches?: number;
  sendAt?: number;
  prefetch?: number;
}): Promise<number> {
  const transport = createInMemoryTransport();
  const prefix = `${runPrefix}consume-${randomUUID()}:`;
  const idempotency: IdempotencyOptions | undefined = options.dedupe
    ? {
        store: createRedisIdempotencyStore({
          client,
          keyPrefix: prefix,
          splitBatches: options.splitBatches ?? 1,
          ...(options.sendAt === undefined ? {} : { sendAt: options.sendAt }),
        }),
      }
    : undefined;
  const sender = createBus({ service: 'producer', transport });
  for (let n = 0; n < options.messages; n++)
    await sender.send(Work, { n, note: 'a small command of about 60 bytes' });
  const bus = createBus({
    service: 'worker',
    transport,
    ...(idempotency ? { idempotency } : {}),
  });
  let handled = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  await bus.subscribe({
    concurrency: options.concurrency,
    ...(options.prefetch === undefined ? {} : { prefetch: options.prefetch }),
    handlers: [
      on(Work, async () => {
        if (options.handlerDelayMs > 0)
          await new Promise((resolve) => setTimeout(resolve, options.handlerDelayMs));
        for (let k = 0; k < (options.handlerGets ?? 0); k++) await handlerIo.get(HANDLER_KEY);
        handled += 1;
        if (handled === options.messages) finish();
      }),
    ],
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await transport.close();
  if (options.dedupe) await deletePrefix(prefix);
  return options.messages / seconds;
}

const results: BenchResult[] = [];

for (const variant of [
  { messages: 20_000, concurrency: 64, handlerDelayMs: 1, label: 'handler awaits 1 ms I/O' },
  { messages: 20_000, concurrency: 256, handlerDelayMs: 1, label: 'handler awaits 1 ms I/O' },
  { messages: 20_000, concurrency: 64, handlerDelayMs: 0, label: 'no-op handler' },
  // Both consumers take twice their concurrency from the transport (core's `prefetch`): the
  // dedupe claims of waiting messages overlap the running handlers.
  {
    messages: 20_000,
    concurrency: 64,
    prefetch: 128,
    handlerDelayMs: 1,
    label: 'handler awaits 1 ms I/O',
  },
  {
    messages: 20_000,
    concurrency: 256,
    prefetch: 512,
    handlerDelayMs: 1,
    label: 'handler awaits 1 ms I/O',
  },
  { messages: 20_000, concurrency: 64, prefetch: 128, handlerDelayMs: 0, label: 'no-op handler' },
  // A handler whose work is real, cheap I/O: 3 sequential Redis GETs on its own connection.
  {
    messages: 20_000,
    concurrency: 64,
    handlerDelayMs: 0,
    handlerGets: 3,
    label: 'handler does 3 Redis GETs',
  },
  {
    messages: 20_000,
    concurrency: 64,
    prefetch: 128,
    handlerDelayMs: 0,
    handlerGets: 3,
    label: 'handler does 3 Redis GETs',
  },
  // The opt-in split of each batch into 2 script calls, measured on its own line.
  {
    messages: 20_000,
    concurrency: 64,
    handlerDelayMs: 1,
    splitBatches: 2,
    label: 'handler awaits 1 ms I/O',
  },
]) {
  const { label, ...params } = variant;
  const split = params.splitBatches ?? 1;
  const sendAt = (params as { sendAt?: number }).sendAt ?? 32;
  const prefetch = (params as { prefetch?: number }).prefetch;
  const result = await compare(
    () => consume({ ...params, dedupe: true }),
    () => consume({ ...params, dedupe: false }),
  );
  results.push(
    entry(
      `consumer throughput, in-memory command queue, ${label}, concurrency ${params.concurrency}${prefetch ? `, prefetch ${prefetch} (both)` : ''}${split > 1 ? `, splitBatches ${split}` : ''}${sendAt !== 32 ? `, sendAt ${sendAt}` : ''}: dedupe by message id vs none`,
      'messages/s',
      'same consumer without dedupe',
      result,
      {
        ...params,
        messageBytes: 60,
        store: `coalesced claim + complete (batchWindowMs 0, sendAt ${sendAt}, splitBatches ${split})`,
      },
    ),
  );
  console.log(`done: ${label}`);
}

// 2. Claims per second vs raw SET NX PX at the same pipelining.
const CLAIMS = 50_000;
const LEASE_MS = 60_000;

async function oursClaimMany(depth: number): Promise<number> {
  const prefix = `${runPrefix}claims-${randomUUID()}:`;
  const store = createRedisIdempotencyStore({ client, keyPrefix: prefix });
  const started = performance.now();
  for (let i = 0; i < CLAIMS; i += depth) {
    const keys = Array.from({ length: Math.min(depth, CLAIMS - i) }, (_, j) => `c:msg:s:${i + j}`);
    const claimed = await store.claimMany(keys, { leaseMs: LEASE_MS });
    if (claimed[0]?.status !== 'claimed') throw new Error('benchmark keys must be fresh');
  }
  const rate = CLAIMS / ((performance.now() - started) / 1000);
  await deletePrefix(prefix);
  return rate;
}

async function oursClaimCoalesced(depth: number): Promise<number> {
  const prefix = `${runPrefix}claims-${randomUUID()}:`;
  const store = createRedisIdempotencyStore({
    client,
    keyPrefix: prefix,
    maxBatchSize: depth,
    sendAt: depth,
  });
  const started = performance.now();
  for (let i = 0; i < CLAIMS; i += depth) {
    const n = Math.min(depth, CLAIMS - i);
    await Promise.all(
      Array.from({ length: n }, (_, j) => store.claim(`c:msg:s:${i + j}`, { leaseMs: LEASE_MS })),
    );
  }
  const rate = CLAIMS / ((performance.now() - started) / 1000);
  await deletePrefix(prefix);
  return rate;
}

async function rawSetNx(depth: number): Promise<number> {
  const prefix = `${runPrefix}raw-${randomUUID()}:`;
  const started = performance.now();
  for (let i = 0; i < CLAIMS; i += depth) {
    const n = Math.min(depth, CLAIMS - i);
    const token = randomUUID();
    if (depth === 1) {
      await client.set(`${prefix}{c}:msg:s:${i}`, token, 'PX', LEASE_MS, 'NX');
      continue;
    }
    const pipeline = client.pipeline();
    for (let j = 0; j < n; j++)
      pipeline.set(`${prefix}{c}:msg:s:${i + j}`, `${token}:${j}`, 'PX', LEASE_MS, 'NX');
    await pipeline.exec();
  }
  const rate = CLAIMS / ((performance.now() - started) / 1000);
  await deletePrefix(prefix);
  return rate;
}

for (const depth of [1, 256]) {
  const result = await compare(
    () => oursClaimMany(depth),
    () => rawSetNx(depth),
  );
  results.push(
    entry(
      `claims/s, ${depth === 1 ? 'one claim per round trip' : `claimMany of ${depth} keys per round trip`} vs raw SET NX PX ${depth === 1 ? 'one per round trip' : `pipeline of ${depth}`}`,
      'claims/s',
      `ioredis SET NX PX${depth === 1 ? '' : ` pipelined ${depth}`}`,
      result,
      { claims: CLAIMS, depth, leaseMs: LEASE_MS },
    ),
  );
  console.log(`done: claims depth ${depth}`);
}
{
  const depth = 256;
  const result = await compare(
    () => oursClaimCoalesced(depth),
    () => rawSetNx(depth),
  );
  results.push(
    entry(
      `claims/s, ${depth} concurrent claim() calls coalesced into one script call vs raw SET NX PX pipeline of ${depth}`,
      'claims/s',
      `ioredis SET NX PX pipelined ${depth}`,
      result,
      { claims: CLAIMS, depth, leaseMs: LEASE_MS },
    ),
  );
}

await deletePrefix(runPrefix);
client.disconnect();
handlerIo.disconnect();

mkdirSync(fileURLToPath(new URL('.', `file://${resultFile}`)), { recursive: true });
writeFileSync(resultFile, `${JSON.stringify(results, null, 2)}\n`);

const info = `Node ${process.version}, ${(await import('node:os')).cpus().length} cores`;
console.log(`\n@eda/redis-dedupe benchmarks (${info}); medians of ${ROUNDS} alternating rounds\n`);
console.log('| measurement | unit | ours | baseline | ratio |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const r of results)
  console.log(
    `| ${r.name} | ${r.unit} | ${r.ours.toLocaleString('en-US')} | ${r.baseline?.toLocaleString('en-US')} (${r.baselineName}) | ${r.ratio} |`,
  );
console.log(`\nwritten to ${resultFile}`);
