// CPU cost of the adapter's consume path alone, without a broker: processBatch on synthetic
// batches shaped as kafkajs decodes them (header values as Buffer slices of one response
// buffer), against the raw eachBatch loop of the benchmark on the same batches. Optionally
// through core's delivery handler (a bus subscription's pipeline). Usage:
//   node --conditions=development --import tsx bench/batch-cpu.ts [rounds]
import { createCodecs, defineEvent, on } from '@eda/core';
import {
  createDeliveryHandler,
  createRetryPolicy,
  type DeliveryHandler,
  type Disposition,
  toBinaryHeaders,
} from '@eda/core/adapter';
import type { EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import { median } from '../../../bench/write-results.js';
import { processBatch } from '../src/batch-processor.js';
import { resolveKafkaOptions } from '../src/kafka-transport-options.js';
import { BINARY_MODE, bodyOf, readRecordHeaders } from '../src/record-mapping.js';
import type { RecordWriter } from '../src/record-writer.js';
import { Slots } from '../src/slots.js';
import type { SubscriptionContext } from '../src/subscription-context.js';
import { TransportMonitor } from '../src/transport-events.js';
import { benchBody, benchEvent, rawEachBatch } from './bench-kit.js';

const rounds = Number(process.argv[2] ?? 7);
const BATCHES = 30;
const PER_BATCH = 900;
const type = 'bench.consume';
const ack: Disposition = { type: 'ack' };

function makeBatch(base: number): KafkaMessage[] {
  // One big buffer, as a fetch response is: every header value and record value is a slice.
  const arena = Buffer.alloc(PER_BATCH * 1400);
  let at = 0;
  const slice = (bytes: Uint8Array | string) => {
    const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    arena.set(b, at);
    const out = arena.subarray(at, at + b.length);
    at += b.length;
    return out;
  };
  const body = benchBody(1024);
  return Array.from({ length: PER_BATCH }, (_, i) => {
    const key = `k${(base + i) % 100}`;
    const strings = toBinaryHeaders(benchEvent(type, key, body).attributes, BINARY_MODE);
    // kafkajs builds the headers object by spreading one header at a time (same object shapes).
    const headers = Object.entries(strings).reduce<IHeaders>(
      // biome-ignore lint/performance/noAccumulatingSpread: reproduces kafkajs's header decoder
      (obj, [name, value]) => ({ ...obj, [name]: slice(value) }),
      {},
    );
    return {
      key: slice(key),
      value: slice(body),
      headers,
      offset: String(base + i),
      timestamp: String(Date.now()),
      attributes: 0,
      size: 0,
    } as KafkaMessage;
  });
}

const batches = Array.from({ length: BATCHES }, (_, b) => makeBatch(b * PER_BATCH));
const total = BATCHES * PER_BATCH;

function payloadOf(messages: KafkaMessage[], partition: number): EachBatchPayload {
  return {
    batch: { topic: `bench.${type}`, partition, messages } as EachBatchPayload['batch'],
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    commitOffsetsIfNecessary: async () => undefined,
  } as unknown as EachBatchPayload;
}

function context(handler: DeliveryHandler): SubscriptionContext {
  return {
    name: 'bench',
    handler,
    slots: new Slots(Number(process.env.SLOTS ?? 1)),
    writer: {} as RecordWriter,
    options: resolveKafkaOptions({ logLevel: 'nothing' }),
    deadLetterTopic: 'bench.dlq',
    retryTopics: [],
    attempts: new Map(),
    closing: new AbortController().signal,
    killed: new AbortController().signal,
    commitChains: new Map(),
    monitor: new TransportMonitor(undefined),
    fail: () => undefined,
    membership: { epoch: 1 },
    retryDeadlines: new Map(),
    pausedByUser: () => false,
  };
}

// As kafkajs does with partitionsConsumedConcurrently > 1: the batches of one fetch (one per
// partition, PARALLEL of them) run at once; the next fetch waits for all of them.
const PARALLEL = Number(process.env.PARALLEL ?? 3);
async function feed(ctx: SubscriptionContext): Promise<void> {
  for (let b = 0; b < BATCHES; b += PARALLEL) {
    const group = batches.slice(b, b + PARALLEL);
    await Promise.all(group.map((messages, i) => processBatch(payloadOf(messages, i), ctx)));
  }
}

let handled = 0;
const ours = async () => {
  const ctx = context(async () => {
    handled += 1;
    return ack;
  });
  await feed(ctx);
};
const Consumed = defineEvent<Uint8Array>({ type, owner: 'bench' });
const bus = async () => {
  const handler = createDeliveryHandler({
    service: 'bench',
    subscription: 'bench',
    system: 'kafka',
    registrations: new Map([
      [
        type,
        on(Consumed, async () => {
          handled += 1;
        }),
      ],
    ]),
    unhandled: 'dead-letter',
    codecs: createCodecs(),
    retryPolicy: createRetryPolicy(),
    observers: [],
  });
  await feed(context(handler));
};
const raw = async () => {
  const count1 = async () => {
    handled += 1;
  };
  // The same loop as the broker benchmarks' raw side.
  const loop = rawEachBatch(count1);
  for (let b = 0; b < BATCHES; b++) await loop(payloadOf(batches[b]!, b % 3));
};

const only = process.env.ONLY;
// Floor: the per-record work that cannot go (headers, delivery, awaited handler) in a plain loop.
const floor = async () => {
  const handler: DeliveryHandler = async () => {
    handled += 1;
    return ack;
  };
  for (let b = 0; b < BATCHES; b++) {
    for (const message of batches[b]!) {
      const { attributes } = readRecordHeaders(message.headers);
      await handler({
        attributes,
        body: bodyOf(message),
        attempt: 1,
        origin: { destination: 't', partition: 0, offset: message.offset },
      });
    }
  }
};
const runners = Object.fromEntries(
  Object.entries({ raw, floor, ours, bus }).filter(
    ([name]) => !only || only.split(',').includes(name),
  ),
);
const samples: Record<string, number[]> = { raw: [], floor: [], ours: [], bus: [] };
for (const run of Object.values(runners)) await run(); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(runners)) {
    const cpu = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpu);
    samples[name]!.push((used.user + used.system) / total);
  }
}
for (const [name, values] of Object.entries(samples)) {
  if (!values.length) continue;
  console.log(
    `${name}: ${median(values).toFixed(3)} us cpu/record (min ${Math.min(...values).toFixed(3)})`,
  );
}
const m = (name: string) => median(samples[name]!);
if (!only)
  console.log(
    `adapter over raw: ${(m('ours') - m('raw')).toFixed(3)} us/record; core pipeline over ours: ${(m('bus') - m('ours')).toFixed(3)} us/record`,
  );
console.log(`records handled in all runs: ${handled}`);
