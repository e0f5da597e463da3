import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import {
  type BusEvent,
  createBus,
  createInMemoryTransport,
  defineCommand,
  defineEvent,
  jsonCodec,
  type OutgoingMessage,
  on,
  type Transport,
} from '../src/index.js';
import { registerOtelSdk } from './otel-sdk.js';
import { until } from './test-helpers.js';

const Seen = defineEvent<{ n: number }>({ type: 'span.seen', owner: 'radar' });
const Echo = defineEvent<{ n: number }>({ type: 'span.echo', owner: 'mirror' });
const Count = defineCommand<{ n: number }>({ type: 'span.count', owner: 'mirror' });

/** A message as another producer might have written it, with only the attributes given. */
function raw(kind: 'event' | 'command', type: string, extra: Record<string, string> = {}) {
  return {
    attributes: {
      id: `${type}-${Math.random().toString(36).slice(2)}`,
      type,
      source: 'radar',
      specversion: '1.0' as const,
      kind,
      datacontenttype: 'application/json',
      ...extra,
    },
    body: jsonCodec.encode({ n: 1 }),
  } as unknown as OutgoingMessage;
}

describe('consumer span attributes (with an SDK registered)', () => {
  const exporter = new InMemorySpanExporter();
  registerOtelSdk(exporter);

  it('name the conversation and the partition of a log delivery', async () => {
    const transport = createInMemoryTransport();
    let partition: number | undefined;
    await createBus({ service: 'mirror', transport }).subscribe({
      handlers: [
        on(Seen, (_m, c) => {
          partition = c.origin.partition;
        }),
      ],
    });
    await transport.publish([raw('event', 'span.seen', { correlationid: 'conv-7' })]);
    await until(() => exporter.getFinishedSpans().some((s) => s.name === 'process span.seen'));
    const span = exporter.getFinishedSpans().find((s) => s.name === 'process span.seen')!;
    expect(partition).toEqual(expect.any(Number));
    expect(span.attributes).toMatchObject({
      'messaging.message.conversation_id': 'conv-7',
      'messaging.destination.partition.id': String(partition),
    });
  });

  it('leave both out when the message has no correlation id and the queue no partitions', async () => {
    const transport = createInMemoryTransport();
    const handled: string[] = [];
    await createBus({ service: 'mirror', transport }).subscribe({
      handlers: [on(Count, (m) => void handled.push(m.id))],
    });
    const message = raw('command', 'span.count');
    await transport.send([message]);
    // A queue is named after the command type, and has no partitions.
    await until(() => exporter.getFinishedSpans().some((s) => s.name === 'process span.count'));
    const span = exporter.getFinishedSpans().find((s) => s.name === 'process span.count')!;
    expect(handled).toEqual([message.attributes.id]);
    expect(span.attributes['messaging.message.id']).toBe(message.attributes.id);
    expect(Object.keys(span.attributes)).not.toContain('messaging.message.conversation_id');
    expect(Object.keys(span.attributes)).not.toContain('messaging.destination.partition.id');
  });
});

describe('tracestate', () => {
  /** A transport that keeps what the consumer's handler publishes. */
  function capturing(inner: Transport) {
    const published: OutgoingMessage[] = [];
    const transport: Transport = {
      ...inner,
      publish: async (messages) => {
        published.push(...messages.filter((m) => m.attributes.type === 'span.echo'));
        await inner.publish(messages);
      },
    };
    return { transport, published };
  }

  it('travels from the handled message to what its handler publishes, and stays absent when it had none', async () => {
    const inner = createInMemoryTransport();
    const { transport, published } = capturing(inner);
    const events: BusEvent[] = [];
    // Parented to the producer: the handler's messages continue the handled message's trace.
    const mirror = createBus({
      service: 'mirror',
      transport,
      observers: [(e) => events.push(e)],
      tracing: { parent: 'producer' },
    });
    await mirror.subscribe({
      handlers: [on(Seen, () => mirror.publish(Echo, { n: 1 }))],
    });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await inner.publish([
      raw('event', 'span.seen', { traceparent, tracestate: 'vendor=opaque,other=1' }),
    ]);
    await inner.publish([raw('event', 'span.seen', { traceparent })]);
    await until(() => published.length === 2);
    const states = published.map((m) => m.attributes.tracestate);
    expect(states.sort()).toEqual(['vendor=opaque,other=1', undefined].sort());
    expect(
      published.every((m) =>
        m.attributes.traceparent?.includes('0af7651916cd43dd8448eb211c80319c'),
      ),
      'the published messages continue the handled trace',
    ).toBe(true);
    expect(
      events.flatMap((e) => (e.kind === 'consumed' ? [e.outcome] : [])),
      'outcomes',
    ).toEqual(['handled', 'handled']);
  });
});
