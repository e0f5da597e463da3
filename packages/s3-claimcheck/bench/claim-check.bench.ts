// Benchmarks of @eda/s3-claimcheck against the raw AWS SDK and against no claim check, in one
// run, alternating ours and the baseline after a warm-up; medians with min and max.
// Needs S3 from `pnpm services:up`. Writes bench/results/s3-claimcheck.json.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  type Bus,
  type ClaimCheckOptions,
  createBus,
  createInMemoryTransport,
  defineEvent,
  on,
} from '@eda/core';
import { createS3Client, endpoints, uniqueName } from '@eda/test-services';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import { createS3PayloadStore, deleteExpiredPayloads } from '../src/index.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const ROUNDS = 9;
const client = createS3Client({ maxAttempts: 3 });
const { bucket } = endpoints.s3;
const prefix = `${uniqueName('bench-s3-claimcheck')}/`;
const store = createS3PayloadStore({ client, bucket, prefix });
const results: BenchResult[] = [];
const began = performance.now();
const progress = (what: string) =>
  console.error(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${what}`);

/** Runs `ours` and `baseline` alternately (who goes first alternates too) after a warm-up. */
async function alternate(
  ours: () => Promise<number>,
  baseline: () => Promise<number>,
  warmups = 2,
  rounds = ROUNDS,
): Promise<{ ours: number[]; baseline: number[] }> {
  for (let i = 0; i < warmups; i++) {
    await ours();
    await baseline();
  }
  const samples = { ours: [] as number[], baseline: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      samples.ours.push(await ours());
      samples.baseline.push(await baseline());
    } else {
      samples.baseline.push(await baseline());
      samples.ours.push(await ours());
    }
  }
  return samples;
}

progress('small messages, claim check on vs off');
/** Median of the per-round ratios: robust when the machine's load drifts during the run. */
function pairedRatio(ours: number[], baseline: number[], higherIsBetter: boolean): number {
  const ratios = ours.map((o, i) => (higherIsBetter ? o / baseline[i]! : baseline[i]! / o));
  return Number(summarize(ratios).median.toFixed(3));
}

// 1. Small messages: the claim check must cost nothing below its threshold. Kept to 1000
// messages per sample: the in-memory log's idle waits leave a 1 s timer and abort listener
// behind per append, which makes longer samples slower for both sides alike.
const SMALL_MESSAGES = 1000;
const SMALL_ROUNDS = 21;
const Small = defineEvent<{ id: number; note: string }>({ type: 'bench.small', owner: 'bench' });

async function smallThroughput(claimCheck: ClaimCheckOptions | undefined): Promise<number> {
  const transport = createInMemoryTransport();
  const options = claimCheck ? { transport, claimCheck } : { transport };
  const producer: Bus = createBus({ service: 'bench', ...options });
  const consumer: Bus = createBus({ service: 'reader', ...options });
  let handled = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  await consumer.subscribe({
    handlers: [
      on(Small, () => {
        handled += 1;
        if (handled === SMALL_MESSAGES) resolveDone();
      }),
    ],
  });
  const note = 'n'.repeat(900);
  const started = performance.now();
  for (let i = 0; i < SMALL_MESSAGES; i++) await producer.publish(Small, { id: i, note });
  await done;
  const seconds = (performance.now() - started) / 1000;
  await consumer.close();
  await transport.close();
  return SMALL_MESSAGES / seconds;
}

{
  const claimCheck = { store, thresholdBytes: 256 * 1024 };
  const samples = await alternate(
    () => smallThroughput(claimCheck),
    () => smallThroughput(undefined),
    2,
    SMALL_ROUNDS,
  );
  const o = summarize(samples.ours);
  const b = summarize(samples.baseline);
  results.push({
    name: 'publish+consume ~1 KB messages, in-memory transport, S3 claim check (256 KiB threshold) on vs off',
    unit: 'msg/s',
    ours: Math.round(o.median),
    baseline: Math.round(b.median),
    baselineName: 'no claim check',
    ratio: Number((o.median / b.median).toFixed(3)),
    params: {
      messages: SMALL_MESSAGES,
      messageBytes: 'about 950 (JSON)',
      rounds: SMALL_ROUNDS,
      oursMin: Math.round(o.min),
      oursMax: Math.round(o.max),
      baselineMin: Math.round(b.min),
      baselineMax: Math.round(b.max),
      pairedRatioMedian: pairedRatio(samples.ours, samples.baseline, true),
      node: process.version,
    },
  });
}

progress('10 MiB put+get, store vs raw SDK');
// 2. A 10 MB payload stored and read back: the store (hashing, verification, confinement) vs
// the same two calls on the raw SDK.
{
  const payload = randomBytes(10 * MIB);
  const OPS = 3;
  const oursOnce = async () => {
    const started = performance.now();
    for (let i = 0; i < OPS; i++) {
      const ref = await store.put(payload, { contentType: 'application/octet-stream' });
      await store.get(ref);
    }
    return (performance.now() - started) / OPS;
  };
  let rawCount = 0;
  const rawOnce = async () => {
    const started = performance.now();
    for (let i = 0; i < OPS; i++) {
      const key = `${prefix}raw/${rawCount++}`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: payload }));
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await got.Body!.transformToByteArray();
    }
    return (performance.now() - started) / OPS;
  };
  const samples = await alternate(oursOnce, rawOnce);
  const o = summarize(samples.ours);
  const b = summarize(samples.baseline);
  results.push({
    name: '10 MiB payload put+get, store (sha256, verify, confinement) vs raw SDK PutObject+GetObject',
    unit: 'ms per put+get',
    ours: Number(o.median.toFixed(1)),
    baseline: Number(b.median.toFixed(1)),
    baselineName: 'raw @aws-sdk/client-s3',
    ratio: Number((b.median / o.median).toFixed(3)),
    params: {
      payloadBytes: payload.byteLength,
      opsPerSample: OPS,
      rounds: ROUNDS,
      oursMin: Number(o.min.toFixed(1)),
      oursMax: Number(o.max.toFixed(1)),
      baselineMin: Number(b.min.toFixed(1)),
      baselineMax: Number(b.max.toFixed(1)),
      pairedRatioMedian: pairedRatio(samples.ours, samples.baseline, false),
      server: 'S3Proxy 3.3.0 (filesystem), loopback',
      node: process.version,
    },
  });
}

progress('peak memory, 100 MiB payload');
// 3. Peak memory for a 100 MiB payload, each sample in a fresh process.
{
  const SIZE = 100 * MIB;
  const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  const measureSize = async (mode: string, size: number) => {
    const { stdout } = await run(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', child, mode, String(size), prefix],
      { maxBuffer: MIB },
    );
    return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { growth: number }).growth / MIB;
  };
  const measure = (mode: string) => measureSize(mode, SIZE);
  const MEMORY_ROUNDS = 5;
  const samples: Record<string, number[]> = {
    'ours-streamed': [],
    'ours-buffered': [],
    'raw-buffered': [],
  };
  for (let round = 0; round < MEMORY_ROUNDS; round++) {
    const order = Object.keys(samples);
    if (round % 2) order.reverse();
    for (const mode of order) samples[mode]!.push(await measure(mode));
  }
  const raw = summarize(samples['raw-buffered']!);
  for (const [mode, label] of [
    ['ours-streamed', 'store.put(stream) + store.getStream()'],
    ['ours-buffered', 'store.put(bytes) + store.get() (what the bus claim check does today)'],
  ] as const) {
    const o = summarize(samples[mode]!);
    results.push({
      name: `peak RSS growth for a 100 MiB payload stored and read back, ${label} vs raw SDK with whole buffers`,
      unit: 'MiB',
      ours: Math.round(o.median),
      baseline: Math.round(raw.median),
      baselineName: 'raw SDK PutObject(Buffer) + GetObject transformToByteArray',
      ratio: Number((raw.median / o.median).toFixed(2)),
      params: {
        payloadBytes: SIZE,
        rounds: MEMORY_ROUNDS,
        oursMin: Math.round(o.min),
        oursMax: Math.round(o.max),
        baselineMin: Math.round(raw.min),
        baselineMax: Math.round(raw.max),
        partSizeBytes: 8 * MIB,
        queueSize: 4,
        node: process.version,
      },
    });
  }
  // Bounded means independent of the payload size: the same streamed round trip at 3x the size.
  const LARGE = 3 * SIZE;
  const large: number[] = [];
  for (let round = 0; round < 3; round++) large.push(await measureSize('ours-streamed', LARGE));
  const l = summarize(large);
  results.push({
    name: 'peak RSS growth for a 300 MiB payload, store.put(stream) + store.getStream() (no baseline: shows the peak does not grow with the payload)',
    unit: 'MiB',
    ours: Math.round(l.median),
    baseline: null,
    baselineName: null,
    ratio: null,
    params: {
      payloadBytes: LARGE,
      rounds: 3,
      oursMin: Math.round(l.min),
      oursMax: Math.round(l.max),
      partSizeBytes: 8 * MIB,
      queueSize: 4,
      node: process.version,
    },
  });
}

progress('done');
await deleteExpiredPayloads({
  client,
  bucket,
  prefix,
  olderThanMs: 0,
  now: new Date(Date.now() + 60_000),
});
client.destroy();
writeResults('s3-claimcheck', results);
