import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryOutboxStore,
  createInMemoryPayloadStore,
  createInMemoryTransport,
  createOutboxRelay,
  defineEvent,
  on,
} from '../src/index.js';
import { registerOtelSdk } from './otel-sdk.js';
import { until } from './test-helpers.js';

const Placed = defineEvent<{ n: number }>({ type: 'trace.placed', owner: 'a' });
const Next = defineEvent<{ n: number }>({ type: 'trace.next', owner: 'b' });
const exporter = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const metricReader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});

const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const only = (name: string): ReadableSpan => {
  const spans = named(name);
  expect(
    spans.map((s) => s.name),
    `one span "${name}"`,
  ).toEqual([name]);
  return spans[0]!;
};

/** A publisher a, a consumer b that publishes Next, a consumer c whose handler fails once and for all. */
async function chain(parent: 'ambient' | 'producer' | undefined) {
  const transport = createInMemoryTransport({ topicFor: (type) => `orders.${type}` });
  const tracing = parent === undefined ? {} : { tracing: { parent } };
  const a = createBus({ service: 'a', transport, ...tracing });
  const b = createBus({ service: 'b', transport, ...tracing });
  let nextTraceparent: string | undefined;
  await b.subscribe({
    handlers: [on(Placed, async ({ data }) => b.publish(Next, { n: data.n }))],
  });
  await createBus({
    service: 'c',
    transport,
    retry: { immediateRetries: 0, maxDeliveries: 1 },
    ...tracing,
  }).subscribe({
    handlers: [
      on(Next, (message) => {
        nextTraceparent = message.traceparent;
        throw new Error('boom');
      }),
    ],
  });
  await a.publish(Placed, { n: 1 });
  await until(() => transport.broker.deadLetters('c').length === 1);
  await until(() => named('process orders.trace.next').length === 1);
  return { nextTraceparent };
}

describe('OpenTelemetry spans and metrics (with an SDK registered)', () => {
  registerOtelSdk(exporter, { metricReader });
  afterEach(() => exporter.reset());

  it('create, publish and process spans named after the destination, the process span in its own trace linked to the creation context (the default)', async () => {
    const { nextTraceparent } = await chain(undefined);
    const createPlaced = only('create orders.trace.placed');
    const sendPlaced = only('publish orders.trace.placed');
    const processPlaced = only('process orders.trace.placed');
    const createNext = only('create orders.trace.next');
    const processNext = only('process orders.trace.next');

    expect(createPlaced.kind).toBe(SpanKind.PRODUCER);
    expect(sendPlaced.kind).toBe(SpanKind.CLIENT);
    expect(processPlaced.kind).toBe(SpanKind.CONSUMER);
    expect(createPlaced.attributes).toMatchObject({
      'messaging.system': 'eda_memory',
      'messaging.operation.type': 'create',
      'messaging.operation.name': 'create',
      'messaging.destination.name': 'orders.trace.placed',
    });
    expect(sendPlaced.attributes).toMatchObject({
      'messaging.system': 'eda_memory',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': 'orders.trace.placed',
      'messaging.message.id': createPlaced.attributes['messaging.message.id'],
    });
    expect(sendPlaced.links.map((l) => l.context.spanId)).toEqual([
      createPlaced.spanContext().spanId,
    ]);
    // Ambient parent: the transport runs the pipeline outside any span, so a new trace.
    expect(processPlaced.parentSpanContext).toBeUndefined();
    expect(processPlaced.spanContext().traceId).not.toBe(createPlaced.spanContext().traceId);
    expect(processPlaced.links.map((l) => l.context.spanId)).toEqual([
      createPlaced.spanContext().spanId,
    ]);
    expect(processPlaced.attributes).toMatchObject({
      'messaging.system': 'eda_memory',
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': 'b',
      'messaging.destination.name': 'orders.trace.placed',
      'messaging.message.id': createPlaced.attributes['messaging.message.id'],
    });
    // What the handler publishes is created inside its process span.
    expect(createNext.parentSpanContext?.spanId).toBe(processPlaced.spanContext().spanId);
    const traceId = processPlaced.spanContext().traceId;
    expect(nextTraceparent).toBe(`00-${traceId}-${createNext.spanContext().spanId}-01`);
    expect(processNext.status.code).toBe(SpanStatusCode.ERROR);
    expect(processNext.attributes['error.type']).toBe('Error');
  });

  it('parent: producer puts every span of the chain in the trace of the first message', async () => {
    await chain('producer');
    const createPlaced = only('create orders.trace.placed');
    const processPlaced = only('process orders.trace.placed');
    const createNext = only('create orders.trace.next');
    const processNext = only('process orders.trace.next');
    const traceId = createPlaced.spanContext().traceId;
    for (const span of [processPlaced, createNext, processNext])
      expect(span.spanContext().traceId).toBe(traceId);
    expect(processPlaced.parentSpanContext?.spanId).toBe(createPlaced.spanContext().spanId);
    expect(processPlaced.links[0]?.context.spanId).toBe(createPlaced.spanContext().spanId);
    expect(processNext.parentSpanContext?.spanId).toBe(createNext.spanContext().spanId);
  });

  it.each([
    ['ambient', false],
    ['producer', true],
  ] as const)(
    'outbox relay with parent %s: the send span links the creation context captured at write (and is its child: %s)',
    async (parent, child) => {
      const transport = createInMemoryTransport();
      const outbox = createInMemoryOutboxStore();
      const a = createBus({ service: 'a', transport, outbox });
      await outbox.transaction((tx) => a.publish(Placed, { n: 7 }, { transaction: tx }));
      const create = only('create trace.placed');
      expect(named('publish trace.placed'), 'nothing sent at write').toEqual([]);
      await createOutboxRelay({ store: outbox, transport, tracing: { parent } }).drain();
      const send = only('publish trace.placed');
      expect(send.links.map((l) => l.context.spanId)).toEqual([create.spanContext().spanId]);
      expect(send.parentSpanContext?.spanId).toBe(child ? create.spanContext().spanId : undefined);
    },
  );

  it('a started relay reports the outbox backlog and the age of its oldest record as gauges', async () => {
    const outbox = createInMemoryOutboxStore();
    const writer = createBus({ service: 'a', outbox });
    await outbox.transaction((tx) => writer.publish(Placed, { n: 8 }, { transaction: tx }));
    // A broker that refuses everything: the record stays in the outbox while the relay runs.
    const refusing = {
      ...createInMemoryTransport(),
      publish: async () => {
        throw new Error('broker down');
      },
    };
    const relay = createOutboxRelay({ store: outbox, transport: refusing, onError: () => {} });
    relay.start();
    try {
      await until(() => outbox.rows()[0]!.attempts > 0);
      // The record has waited at least this long when the gauge is read.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await metricReader.forceFlush();
      const scopeMetrics = metricExporter.getMetrics().at(-1)!.scopeMetrics;
      const point = (name: string) =>
        scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
          ?.dataPoints[0];
      expect(point('eda.outbox.backlog')?.value).toBe(1);
      expect(point('eda.outbox.oldest_age')?.value).toBeGreaterThanOrEqual(0.02);
    } finally {
      await relay.stop();
    }
  });

  it('counts duplicates skipped by the idempotency step and bytes offloaded by the claim check', async () => {
    const transport = createInMemoryTransport();
    const payloads = createInMemoryPayloadStore();
    const writer = createBus({
      service: 'a',
      transport,
      claimCheck: { store: payloads, thresholdBytes: 16 },
    });
    let handled = 0;
    await createBus({
      service: 'dup',
      transport,
      idempotency: { store: createInMemoryIdempotencyStore() },
      claimCheck: { store: payloads },
    }).subscribe({ handlers: [on(Placed, () => void handled++)] });
    const body = { n: 123_456_789_012 };
    // The same id twice: the second delivery is a duplicate.
    await writer.publish(Placed, body, { id: 'same-id' });
    await writer.publish(Placed, body, { id: 'same-id' });
    await until(() => named('process trace.placed').length === 2);
    expect(handled).toBe(1);
    await metricReader.forceFlush();
    const scopeMetrics = metricExporter.getMetrics().at(-1)!.scopeMetrics;
    const points = (name: string) =>
      scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)?.dataPoints;
    const duplicates = points('eda.consumer.duplicates_skipped')?.find(
      (p) => p.attributes['eda.subscription'] === 'dup',
    );
    expect(duplicates?.value).toBe(1);
    const offloaded = points('eda.claim_check.offloaded.size')?.find(
      (p) => p.attributes['eda.message.type'] === 'trace.placed',
    );
    expect(offloaded?.value).toBe(2 * new TextEncoder().encode(JSON.stringify(body)).byteLength);
  });

  it('counts sent and consumed messages, process durations and dead letters', async () => {
    await chain(undefined);
    await metricReader.forceFlush();
    const metrics = metricExporter
      .getMetrics()
      .at(-1)!
      .scopeMetrics.flatMap((scope) =>
        scope.metrics.map((metric) => ({ scope: scope.scope, metric })),
      );
    const points = (name: string) =>
      metrics.find((m) => m.metric.descriptor.name === name)?.metric.dataPoints ?? [];
    const scope = metrics[0]!.scope;
    expect(scope.name).toBe('@eda/core');
    expect(scope.version).toMatch(/^\d+\.\d+\.\d+/);
    const sent = points('messaging.client.sent.messages').find(
      (p) => p.attributes['messaging.destination.name'] === 'orders.trace.placed',
    );
    expect(sent?.value).toBeGreaterThanOrEqual(1);
    expect(sent?.attributes).toMatchObject({
      'messaging.system': 'eda_memory',
      'messaging.operation.name': 'publish',
    });
    const consumed = points('messaging.client.consumed.messages').filter(
      (p) => p.attributes['messaging.destination.name'] === 'orders.trace.next',
    );
    expect(consumed.length).toBeGreaterThanOrEqual(1);
    const failedProcess = points('messaging.process.duration').find(
      (p) =>
        p.attributes['messaging.destination.name'] === 'orders.trace.next' &&
        p.attributes['error.type'] === 'Error',
    );
    expect(failedProcess, 'a failed process duration with error.type').toBeDefined();
    const deadLetters = points('eda.consumer.dead_letters').find(
      (p) => p.attributes['eda.subscription'] === 'c',
    );
    expect(deadLetters?.value).toBeGreaterThanOrEqual(1);
    expect(deadLetters?.attributes['eda.dead_letter.reason']).toBe('EDA_HANDLER');
  });
});
