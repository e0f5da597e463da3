// Benchmarks of @eda/kafka against raw kafkajs on the same broker, in the same run, alternating:
// publish throughput, consume-to-handler throughput, and a slow handler on one partition with
// per-key concurrency against sequential eachMessage. Writes bench/results/kafka.json.
import { type Disposition, uuidv7 } from '@eda/core/adapter';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import { createKafkaTransport } from '../src/index.js';
import { BINARY_MODE } from '../src/record-mapping.js';
import {
  benchBody,
  benchEvent,
  brokers,
  deleteByPrefix,
  fillTopic,
  rawEachBatch,
  sleep,
  startRawConsumer,
} from './bench-kit.js';

const ROUNDS = 5;
const prefix = `eda-bench-${Date.now().toString(36)}.`;
const kafka = new Kafka({ clientId: 'eda-bench', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const ack: Disposition = { type: 'ack' };

/** Runs warm-up then alternating rounds; returns the samples of each side. */
async function alternate(
  ours: () => Promise<number>,
  raw: () => Promise<number>,
): Promise<{ ours: number[]; raw: number[] }> {
  await ours();
  await raw();
  const samples = { ours: [] as number[], raw: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    samples.ours.push(await ours());
    samples.raw.push(await raw());
  }
  return samples;
}

function result(
  name: string,
  samples: { ours: number[]; raw: number[] },
  baselineName: string,
  params: Record<string, unknown>,
): BenchResult {
  const o = summarize(samples.ours);
  const r = summarize(samples.raw);
  return {
    name,
    unit: 'msg/s',
    ours: Math.round(o.median),
    baseline: Math.round(r.median),
    baselineName,
    ratio: Number((o.median / r.median).toFixed(3)),
    params: {
      ...params,
      rounds: ROUNDS,
      oursMin: Math.round(o.min),
      oursMax: Math.round(o.max),
      baselineMin: Math.round(r.min),
      baselineMax: Math.round(r.max),
      node: process.version,
      brokers: brokers.join(','),
    },
  };
}

async function benchPublish(): Promise<BenchResult> {
  const type = 'bench.publish';
  const topic = `${prefix}${type}`;
  const batches = 100;
  const batchSize = 100;
  const body = benchBody(1024);
  const transport = createKafkaTransport({ kafka, topicPrefix: prefix, topics: { partitions: 3 } });
  await transport.ensureTopics([topic]);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = Buffer.from(body);
  const ours = async () => {
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      await transport.publish(
        Array.from({ length: batchSize }, (_, i) => benchEvent(type, `k${i}`, body)),
      );
    }
    return (batches * batchSize) / ((performance.now() - started) / 1000);
  };
  const raw = async () => {
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          {
            topic,
            messages: Array.from({ length: batchSize }, (_, i) => ({
              key: `k${i}`,
              value,
              headers: {
                ce_id: uuidv7(),
                ce_type: type,
                ce_source: 'bench',
                ce_specversion: '1.0',
                ce_kind: 'event',
                ce_time: new Date().toISOString(),
                ce_partitionkey: `k${i}`,
                [BINARY_MODE.contentTypeHeader]: 'application/octet-stream',
              },
            })),
          },
        ],
      });
    }
    return (batches * batchSize) / ((performance.now() - started) / 1000);
  };
  const samples = await alternate(ours, raw);
  await producer.disconnect();
  await transport.close();
  return result(
    'publish throughput, 1 KiB messages, batch 100, acks -1, 3 partitions',
    samples,
    'kafkajs producer.sendBatch',
    { messagesPerRound: batches * batchSize, batchSize, messageBytes: 1024, acks: -1 },
  );
}

/** Consumes `count` records with a fresh group; msg/s from the first handled record to the last. */
async function oursConsume(
  type: string,
  count: number,
  concurrency: number,
  handle: () => Promise<void> | void,
): Promise<number> {
  const transport = createKafkaTransport({ kafka, topicPrefix: prefix });
  let handled = 0;
  let first = 0;
  let last = 0;
  await transport.subscribe(
    { name: `${prefix}ours-${uuidv7()}`, kind: 'event', types: [type], concurrency },
    async () => {
      if (handled === 0) first = performance.now();
      await handle();
      handled += 1;
      last = performance.now();
      return ack;
    },
  );
  while (handled < count) await sleep(5);
  await transport.close();
  return (count - 1) / ((last - first) / 1000);
}

async function rawConsume(
  topic: string,
  count: number,
  mode: 'eachBatch' | 'eachMessage',
  handle: () => Promise<void> | void,
): Promise<number> {
  let handled = 0;
  let first = 0;
  let last = 0;
  const count1 = async () => {
    if (handled === 0) first = performance.now();
    await handle();
    handled += 1;
    last = performance.now();
  };
  const stop = await startRawConsumer(
    kafka,
    `${prefix}raw`,
    topic,
    mode === 'eachMessage' ? { eachMessage: count1 } : { eachBatch: rawEachBatch(count1) },
  );
  while (handled < count) await sleep(5);
  await stop();
  return (count - 1) / ((last - first) / 1000);
}

async function benchConsume(): Promise<BenchResult> {
  const type = 'bench.consume';
  const count = 20_000;
  const topic = await fillTopic(kafka, prefix, type, count, 100, 3);
  const samples = await alternate(
    () => oursConsume(type, count, 1, () => undefined),
    () => rawConsume(topic, count, 'eachBatch', () => undefined),
  );
  return result(
    'consume-to-handler throughput, 1 KiB messages, 3 partitions, empty handler, manual commits vs raw eachBatch',
    samples,
    'kafkajs eachBatch (resolveOffset + commitOffsetsIfNecessary)',
    { messagesPerRound: count, messageBytes: 1024, partitions: 3, concurrency: 1 },
  );
}

async function benchSlowHandler(): Promise<BenchResult> {
  const type = 'bench.slow';
  const count = 1000;
  const topic = await fillTopic(kafka, prefix, type, count, 100, 1);
  const wait = () => sleep(5);
  const samples = await alternate(
    () => oursConsume(type, count, 100, wait),
    () => rawConsume(topic, count, 'eachMessage', wait),
  );
  return result(
    'handler waiting 5 ms, 1 partition, 100 keys: per-key concurrency 100 vs sequential eachMessage',
    samples,
    'kafkajs eachMessage (sequential)',
    { messagesPerRound: count, handlerMs: 5, partitions: 1, keys: 100, concurrency: 100 },
  );
}

async function main() {
  await admin.connect();
  const results: BenchResult[] = [];
  try {
    for (const bench of [benchPublish, benchConsume, benchSlowHandler]) {
      const started = Date.now();
      results.push(await bench());
      console.log(`${results.at(-1)!.name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await deleteByPrefix(admin, prefix);
    await admin.disconnect();
  }
  writeResults('kafka', results);
}

await main();
