// What the OpenTelemetry instrumentation costs a consumer: consume-to-handler throughput on the
// in-memory transport (core's whole consumer pipeline, no broker I/O to hide it), in one run:
// instrumentation with no SDK registered vs every span and metric call skipped (target >= 0.98),
// and, reported without a target, with an SDK whose batch span processor exports to nowhere.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { type BenchResult, summarize, writeResults } from '../../../bench/write-results.js';
import { createBus, createInMemoryTransport, defineEvent, on } from '../src/index.js';
import { skipTelemetry } from '../src/telemetry/instruments.js';

const MESSAGES = 20_000;
const ROUNDS = 5;
const Placed = defineEvent<{ orderId: string; n: number }>({
  type: 'bench.placed',
  owner: 'orders',
});

/** Messages per second from subscription start until all MESSAGES were handled. */
async function consumeRate(): Promise<number> {
  const transport = createInMemoryTransport();
  const producer = createBus({ service: 'orders', transport });
  for (let i = 0; i < MESSAGES; i++)
    await producer.publish(Placed, { orderId: `o-${i}`, n: i }, { partitionKey: `k${i % 64}` });
  let handled = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const started = performance.now();
  const subscription = await createBus({ service: 'bench', transport }).subscribe({
    handlers: [on(Placed, () => void (++handled === MESSAGES && resolveDone()))],
  });
  await done;
  const rate = MESSAGES / ((performance.now() - started) / 1000);
  await subscription.close();
  return rate;
}

/** An exporter that drops what it is given: the SDK's own cost, not an exporter's. */
const nowhere: SpanExporter = {
  export: (_spans, resultCallback) => resultCallback({ code: 0 }),
  shutdown: async () => undefined,
};

async function withSdk<T>(run: () => Promise<T>): Promise<T> {
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(nowhere, { maxQueueSize: 65_536 })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  try {
    return await run();
  } finally {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  }
}

const variants: Record<string, () => Promise<number>> = {
  instrumented: consumeRate,
  skipped: async () => {
    skipTelemetry(true);
    try {
      return await consumeRate();
    } finally {
      skipTelemetry(false);
    }
  },
  sdk: () => withSdk(consumeRate),
};
const samples: Record<string, number[]> = { instrumented: [], skipped: [], sdk: [] };
await consumeRate(); // warm-up
await variants.skipped!();
for (let round = 0; round < ROUNDS; round++)
  for (const [name, run] of Object.entries(variants)) samples[name]!.push(await run());

const instrumented = summarize(samples.instrumented!);
const skipped = summarize(samples.skipped!);
const sdk = summarize(samples.sdk!);
const params = { messages: MESSAGES, rounds: ROUNDS, partitionKeys: 64, node: process.version };
const results: BenchResult[] = [
  {
    name: 'consume throughput, in-memory transport, OpenTelemetry instrumentation with no SDK registered vs every span and metric call skipped',
    unit: 'msg/s',
    ours: Math.round(instrumented.median),
    baseline: Math.round(skipped.median),
    baselineName: 'tracing code paths skipped',
    ratio: Number((instrumented.median / skipped.median).toFixed(3)),
    params: {
      ...params,
      target: 0.98,
      oursMin: Math.round(instrumented.min),
      oursMax: Math.round(instrumented.max),
      baselineMin: Math.round(skipped.min),
      baselineMax: Math.round(skipped.max),
    },
  },
  {
    name: 'consume throughput, in-memory transport, with an OpenTelemetry SDK and a batch span processor (exporting nowhere) vs every span and metric call skipped',
    unit: 'msg/s',
    ours: Math.round(sdk.median),
    baseline: Math.round(skipped.median),
    baselineName: 'tracing code paths skipped',
    ratio: Number((sdk.median / skipped.median).toFixed(3)),
    params: {
      ...params,
      target: null,
      oursMin: Math.round(sdk.min),
      oursMax: Math.round(sdk.max),
    },
  },
];
writeResults('core', results);
