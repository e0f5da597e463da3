// Consume path only, for profiling and for the split between the adapter and core's consumer
// pipeline: raw kafkajs eachBatch, the transport with an empty delivery handler ("ours"), and a
// bus subscription (core's delivery handler: decode, route, handler step) on the same records,
// alternating in one run. Usage:
//   node --conditions=development --import tsx bench/consume-split.ts [modes] [rounds] [count]
// modes is a comma list of raw, rawcfg (the raw loop with the transport's consumer settings),
// rawhdr (the raw loop plus the transport's header read), ours, bus (default raw,ours,bus).
// Prints medians of throughput and of CPU time per record; writes nothing.
import { createBus, defineEvent, on } from '@eda/core';
import { type Disposition, uuidv7 } from '@eda/core/adapter';
import { Kafka, logLevel } from 'kafkajs';
import { median } from '../../../bench/write-results.js';
import { createKafkaTransport } from '../src/index.js';
import { readRecordHeaders } from '../src/record-mapping.js';
import {
  brokers,
  deleteByPrefix,
  fillTopic,
  rawEachBatch,
  sleep,
  startRawConsumer,
} from './bench-kit.js';

const modes = (process.argv[2] ?? 'raw,ours,bus').split(',');
const rounds = Number(process.argv[3] ?? 5);
const count = Number(process.argv[4] ?? 20_000);
const prefix = `eda-split-${Date.now().toString(36)}.`;
const type = 'bench.consume';
const kafka = new Kafka({ clientId: 'eda-split', brokers, logLevel: logLevel.NOTHING });
const ack: Disposition = { type: 'ack' };
const cpuPerRecord: number[] = [];
const Consumed = defineEvent<Uint8Array>({ type, owner: 'bench' });

async function timed(start: (tick: () => void) => Promise<() => Promise<void>>): Promise<number> {
  let handled = 0;
  let first = 0;
  let last = 0;
  let cpuFirst = process.cpuUsage();
  let cpuLast = cpuFirst;
  const stop = await start(() => {
    if (handled === 0) {
      first = performance.now();
      cpuFirst = process.cpuUsage();
    }
    handled += 1;
    if (handled === count) cpuLast = process.cpuUsage(cpuFirst);
    last = performance.now();
  });
  while (handled < count) await sleep(5);
  await stop();
  const cpuMs = (cpuLast.user + cpuLast.system) / 1000;
  cpuPerRecord.push((cpuMs * 1000) / count);
  return (count - 1) / ((last - first) / 1000);
}

const runners: Record<string, (topic: string) => Promise<number>> = {
  raw: (topic) =>
    timed((tick) =>
      startRawConsumer(kafka, `${prefix}raw`, topic, { eachBatch: rawEachBatch(tick) }),
    ),
  // The raw loop with the transport's consumer settings: several partitions at once, manual commits.
  rawcfg: (topic) =>
    timed((tick) =>
      startRawConsumer(kafka, `${prefix}rawcfg`, topic, {
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 8,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
          for (const message of batch.messages) {
            await tick();
            resolveOffset(message.offset);
          }
          const next = String(BigInt(batch.lastOffset()) + 1n);
          void commitOffsetsIfNecessary({
            topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }],
          });
        },
      }),
    ),
  // The raw loop plus the header read the transport does per record (attributes for core).
  rawhdr: (topic) =>
    timed((tick) =>
      startRawConsumer(kafka, `${prefix}rawhdr`, topic, {
        eachBatch: rawEachBatch((message) => {
          if (readRecordHeaders(message.headers).bytes < 0) throw new Error('unreachable');
          tick();
        }),
      }),
    ),
  ours: () =>
    timed(async (tick) => {
      const transport = createKafkaTransport({ kafka, topicPrefix: prefix });
      await transport.subscribe(
        { name: `${prefix}ours-${uuidv7()}`, kind: 'event', types: [type], concurrency: 1 },
        async () => {
          tick();
          return ack;
        },
      );
      return () => transport.close();
    }),
  bus: () =>
    timed(async (tick) => {
      const transport = createKafkaTransport({ kafka, topicPrefix: prefix });
      const bus = createBus({ service: 'split', transport });
      await bus.subscribe({
        name: `${prefix}bus-${uuidv7()}`,
        handlers: [on(Consumed, async () => tick())],
      });
      return async () => {
        await bus.close();
        await transport.close();
      };
    }),
};

const admin = kafka.admin();
await admin.connect();
try {
  const topic = await fillTopic(kafka, prefix, type, count, 100, 3);
  const samples: Record<string, number[]> = {};
  const cpuSamples: Record<string, number[]> = {};
  for (const mode of modes) await runners[mode]!(topic); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const value = await runners[mode]!(topic);
      const cpu = cpuPerRecord.at(-1)!;
      samples[mode] = [...(samples[mode] ?? []), value];
      cpuSamples[mode] = [...(cpuSamples[mode] ?? []), cpu];
      console.log(
        `round ${round} ${mode}: ${Math.round(value)} msg/s, cpu ${cpu.toFixed(2)} us/record`,
      );
    }
  }
  const medians = Object.fromEntries(modes.map((m) => [m, median(samples[m]!)]));
  for (const mode of modes) {
    const vs = medians.raw ? ` (${(medians[mode]! / medians.raw).toFixed(3)} of raw)` : '';
    console.log(
      `${mode}: median ${Math.round(medians[mode]!)} msg/s${vs}, cpu median ${median(cpuSamples[mode]!).toFixed(2)} us/record`,
    );
  }
  if (medians.ours && medians.bus) {
    // Per-record time: what the bus adds on top of the transport is core's delivery handler.
    const perOurs = 1e6 / medians.ours;
    const perBus = 1e6 / medians.bus;
    const perRaw = medians.raw ? 1e6 / medians.raw : undefined;
    console.log(
      `per record: raw ${perRaw?.toFixed(2) ?? '-'} us, ours ${perOurs.toFixed(2)} us, bus ${perBus.toFixed(2)} us; core pipeline adds ${(perBus - perOurs).toFixed(2)} us, adapter adds ${perRaw ? (perOurs - perRaw).toFixed(2) : '-'} us over raw`,
    );
  }
} finally {
  await deleteByPrefix(admin, prefix);
  await admin.disconnect();
}
