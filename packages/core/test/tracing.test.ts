import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createBus, createInMemoryTransport, defineEvent, on } from '../src/index.js';
import { registerOtelSdk } from './otel-sdk.js';
import { until } from './test-helpers.js';

const Placed = defineEvent<{ n: number }>({ type: 'trace.placed', owner: 'a' });
const Next = defineEvent<{ n: number }>({ type: 'trace.next', owner: 'b' });
const exporter = new InMemorySpanExporter();

describe('OpenTelemetry spans (with an SDK registered)', () => {
  registerOtelSdk(exporter);

  it('creates producer and consumer spans of one trace, with messaging attributes, and carries the span ids in traceparent', async () => {
    const transport = createInMemoryTransport();
    const a = createBus({ service: 'a', transport });
    const b = createBus({ service: 'b', transport });
    let nextTraceparent: string | undefined;
    await b.subscribe({
      handlers: [on(Placed, async ({ data }) => b.publish(Next, { n: data.n }))],
    });
    await createBus({
      service: 'c',
      transport,
      retry: { immediateRetries: 0, maxDeliveries: 1 },
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

    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const [createPlaced] = byName('create trace.placed');
    const [processPlaced] = byName('process trace.placed');
    const [createNext] = byName('create trace.next');
    const [processNext] = byName('process trace.next');
    expect(createPlaced?.kind).toBe(SpanKind.PRODUCER);
    expect(processPlaced?.kind).toBe(SpanKind.CONSUMER);
    const traceId = createPlaced!.spanContext().traceId;
    for (const span of [processPlaced, createNext, processNext])
      expect(span?.spanContext().traceId).toBe(traceId);
    expect(processPlaced?.parentSpanContext?.spanId).toBe(createPlaced!.spanContext().spanId);
    expect(processPlaced?.links[0]?.context.spanId).toBe(createPlaced!.spanContext().spanId);
    expect(createNext?.parentSpanContext?.spanId).toBe(processPlaced!.spanContext().spanId);
    expect(nextTraceparent).toBe(`00-${traceId}-${createNext!.spanContext().spanId}-01`);
    expect(createPlaced?.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.operation.type': 'create',
      'messaging.operation.name': 'create',
      'messaging.destination.name': 'trace.placed',
    });
    expect(createPlaced?.links).toEqual([]);
    expect(processPlaced?.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': 'b',
      'messaging.destination.name': 'trace.placed',
    });
    expect(processNext?.status.code).toBe(SpanStatusCode.ERROR);
    expect(processNext?.attributes['error.type']).toBe('Error');
  });
});
