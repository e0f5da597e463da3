// OpenTelemetry spans and metrics of the Kafka transport with the real SDK, on a real broker:
// publish -> consume, a handler that publishes (causation chain), retry then dead letter, a
// producer and a consumer in two processes in one trace, and B3 headers on the wire when the
// application registers the B3 propagator.
import { createBus, defineEvent, on } from '@eda/core';
import { kafkaBrokers } from '@eda/test-services';
import { onlySpan, spanIdOf, useOtelSdk } from '@eda/test-services/otel';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { afterEach, describe, expect, it } from 'vitest';
import { killChildren, startChild } from './child-member.js';
import { jsonMessage, type Namespace, namespace, until } from './helpers.js';

const MAJOR = 4;
const Placed = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const Billed = defineEvent<{ orderId: string }>({ type: 'order.billed', owner: 'billing' });

describe('Kafka spans and metrics (W3C propagators, real SDK)', () => {
  const sdk = useOtelSdk();
  let ns: Namespace;
  afterEach(async () => {
    sdk.reset();
    await ns?.cleanup();
  });

  it('publish -> consume: create, send, process and commit spans on the topic, W3C headers on the record, messaging metrics', async () => {
    ns = namespace(MAJOR, 'otel');
    const transport = ns.transport();
    const topic = transport.topicFor('order.placed');
    const group = ns.group('billing');
    const orders = createBus({ service: 'orders', transport });
    const billing = createBus({ service: 'billing', transport });
    const handled: string[] = [];
    await billing.subscribe({
      name: group,
      handlers: [on(Placed, (m) => void handled.push(m.id))],
    });
    await orders.publish(Placed, { orderId: 'o-1' }, { partitionKey: 'o-1' });
    await until(
      () => handled.length === 1,
      () => sdk.spans().length,
    );
    await until(
      () => sdk.named(`commit ${topic}`).length > 0,
      () => sdk.spans().length,
      20_000,
      'the commit span',
    );

    const create = onlySpan(sdk, `create ${topic}`);
    const send = onlySpan(sdk, `send ${topic}`);
    const process = onlySpan(sdk, `process ${topic}`);
    const commit = sdk.named(`commit ${topic}`)[0]!;
    expect(create.kind).toBe(SpanKind.PRODUCER);
    expect(create.instrumentationScope.name).toBe('@eda/core');
    expect(create.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'create',
      'messaging.destination.name': topic,
      'messaging.message.id': handled[0],
      'messaging.message.conversation_id': handled[0],
    });

    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.instrumentationScope.name).toBe('@eda/kafka');
    expect(send.instrumentationScope.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': topic,
      'messaging.message.id': handled[0],
      'messaging.kafka.message.key': 'o-1',
      'messaging.message.body.size': Buffer.byteLength(JSON.stringify({ orderId: 'o-1' })),
      'server.address': '127.0.0.1',
      'server.port': 9092,
    });
    expect(send.links.map((l) => l.context.spanId)).toEqual([spanIdOf(create)]);

    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': group,
      'messaging.destination.partition.id': expect.any(String),
      'messaging.kafka.offset': expect.any(Number),
      'messaging.kafka.message.key': 'o-1',
      'messaging.message.id': handled[0],
    });
    // The conventions' default: parent is the ambient context (none here), link the creation.
    expect(process.parentSpanContext).toBeUndefined();
    expect(process.links.map((l) => l.context.spanId)).toEqual([spanIdOf(create)]);

    expect(commit.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'commit',
      'messaging.consumer.group.name': group,
      'messaging.destination.name': topic,
    });

    // The propagator's header and the CloudEvents extension both name the create span.
    const [record] = await ns.readTopic(topic, 1);
    const traceparent = `00-${create.spanContext().traceId}-${spanIdOf(create)}-01`;
    expect(record?.headers.traceparent).toBe(traceparent);
    expect(record?.headers.ce_traceparent).toBe(traceparent);

    const metrics = await sdk.collectMetrics();
    const sent = metrics.get('messaging.client.sent.messages');
    expect(sent?.scope.name).toBe('@eda/kafka');
    expect(sent?.unit).toBe('{message}');
    expect(
      sent?.points.find((p) => p.attributes['messaging.destination.name'] === topic)?.value,
    ).toBe(1);
    const consumed = metrics
      .get('messaging.client.consumed.messages')
      ?.points.find((p) => p.attributes['messaging.destination.name'] === topic);
    expect(consumed?.value).toBe(1);
    expect(consumed?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.consumer.group.name': group,
    });
    expect(metrics.get('messaging.process.duration')?.unit).toBe('s');
    const operations = metrics
      .get('messaging.client.operation.duration')
      ?.points.filter((p) => p.attributes['messaging.destination.name'] === topic)
      .map((p) => p.attributes['messaging.operation.name'])
      .sort();
    expect(operations).toEqual(['commit', 'send']);
    const lag = metrics
      .get('eda.kafka.consumer.lag')
      ?.points.find((p) => p.attributes['messaging.consumer.group.name'] === group);
    expect(lag?.value).toBe(0);
    await orders.close();
    await billing.close();
  });

  it('a handler that publishes: with parent "producer" one trace runs from the first create to the last process, and the child message names its cause', async () => {
    ns = namespace(MAJOR, 'otel-chain');
    const transport = ns.transport();
    const placedTopic = transport.topicFor('order.placed');
    const billedTopic = transport.topicFor('order.billed');
    const tracing = { parent: 'producer' } as const;
    const orders = createBus({ service: 'orders', transport, tracing });
    const billing = createBus({ service: 'billing', transport, tracing });
    const shipping = createBus({ service: 'shipping', transport, tracing });
    const billed: { causationid?: string | undefined; traceparent?: string | undefined }[] = [];
    await billing.subscribe({
      name: ns.group('billing'),
      handlers: [on(Placed, (m) => billing.publish(Billed, { orderId: m.data.orderId }))],
    });
    await shipping.subscribe({
      name: ns.group('shipping'),
      handlers: [on(Billed, (m) => void billed.push(m))],
    });
    await orders.publish(Placed, { orderId: 'o-2' });
    await until(
      () => billed.length === 1,
      () => sdk.spans().length,
    );

    const createPlaced = onlySpan(sdk, `create ${placedTopic}`);
    const processPlaced = onlySpan(sdk, `process ${placedTopic}`);
    const createBilled = onlySpan(sdk, `create ${billedTopic}`);
    const sendBilled = onlySpan(sdk, `send ${billedTopic}`);
    const processBilled = onlySpan(sdk, `process ${billedTopic}`);
    const traceId = createPlaced.spanContext().traceId;
    for (const span of [processPlaced, createBilled, sendBilled, processBilled])
      expect(span.spanContext().traceId, span.name).toBe(traceId);
    expect(processPlaced.parentSpanContext?.spanId).toBe(spanIdOf(createPlaced));
    expect(processPlaced.links[0]?.context.spanId).toBe(spanIdOf(createPlaced));
    // The handler's message is created (and its held-back send runs) inside the process span.
    expect(createBilled.parentSpanContext?.spanId).toBe(spanIdOf(processPlaced));
    expect(sendBilled.parentSpanContext?.spanId).toBe(spanIdOf(processPlaced));
    expect(processBilled.parentSpanContext?.spanId).toBe(spanIdOf(createBilled));
    expect(billed[0]?.causationid).toBe(createPlaced.attributes['messaging.message.id']);
    expect(billed[0]?.traceparent).toBe(`00-${traceId}-${spanIdOf(createBilled)}-01`);
    await Promise.all([orders.close(), billing.close(), shipping.close()]);
  });

  it('retry then dead letter: failed process spans carry error.type, the dead letter is a settle span under the last one, and is counted', async () => {
    ns = namespace(MAJOR, 'otel-dead');
    const transport = ns.transport();
    const topic = transport.topicFor('order.placed');
    const group = ns.group('fragile');
    const orders = createBus({ service: 'orders', transport });
    const fragile = createBus({
      service: 'fragile',
      transport,
      retry: { immediateRetries: 0, maxDeliveries: 2, initialDelayMs: 100 },
    });
    let attempts = 0;
    await fragile.subscribe({
      name: group,
      handlers: [
        on(Placed, () => {
          attempts += 1;
          throw new RangeError('card declined');
        }),
      ],
    });
    await orders.publish(Placed, { orderId: 'o-3' });
    await until(
      () => sdk.named(`dead_letter ${topic}`).length === 1,
      () => sdk.spans().length,
      20_000,
      'the dead-letter span',
    );

    const processes = sdk.named(`process ${topic}`);
    expect(attempts).toBe(2);
    expect(processes).toHaveLength(2);
    for (const span of processes) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('RangeError');
    }
    const deadLetter = onlySpan(sdk, `dead_letter ${topic}`);
    expect(deadLetter.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'dead_letter',
      'messaging.consumer.group.name': group,
      'eda.settle.destination': transport.deadLetterTopicFor(group),
    });
    const last = processes.at(-1)!;
    expect(deadLetter.parentSpanContext?.spanId).toBe(spanIdOf(last));
    expect(deadLetter.spanContext().traceId).toBe(last.spanContext().traceId);

    const metrics = await sdk.collectMetrics();
    const deadLetters = metrics
      .get('eda.consumer.dead_letters')
      ?.points.find((p) => p.attributes['eda.subscription'] === group);
    expect(deadLetters?.value).toBe(1);
    expect(deadLetters?.attributes['eda.dead_letter.reason']).toBe('EDA_HANDLER');
    const failed = metrics
      .get('messaging.process.duration')
      ?.points.filter((p) => p.attributes['messaging.destination.name'] === topic)
      .map((p) => p.attributes['error.type'])
      .sort();
    expect(failed).toEqual(['RangeError', 'retry']);
    await orders.close();
    await fragile.close();
  });
});

describe('Kafka across two processes (real SDK in each)', () => {
  const sdk = useOtelSdk();
  let ns: Namespace;
  afterEach(async () => {
    await killChildren();
    await ns?.cleanup();
  });

  it('a producer process and a consumer process (parent "producer") make one trace', async () => {
    ns = namespace(MAJOR, 'otel-2proc');
    const transport = ns.transport();
    const topic = transport.topicFor('order.placed');
    const billing = createBus({ service: 'billing', transport, tracing: { parent: 'producer' } });
    const handled: string[] = [];
    await billing.subscribe({
      name: ns.group('billing'),
      handlers: [on(Placed, (m) => void handled.push(m.id))],
    });
    const created: string[] = [];
    const child = startChild(
      'otel-producer',
      [kafkaBrokers(MAJOR).join(','), ns.prefix, 'order.placed'],
      (line) => {
        if (line.startsWith('created ')) created.push(line);
      },
    );
    await until(
      () => handled.length === 1 && created.length === 1,
      () => child.lines.length + sdk.spans().length,
      30_000,
      'the remote create span and the local handling',
    );
    const [, traceId, spanId] = created[0]!.split(' ');
    const process = onlySpan(sdk, `process ${topic}`);
    expect(process.spanContext().traceId).toBe(traceId);
    expect(process.parentSpanContext?.spanId).toBe(spanId);
    expect(process.parentSpanContext?.isRemote).toBe(true);
    expect(process.links[0]?.context.spanId).toBe(spanId);
    expect(sdk.named(`create ${topic}`), 'the create span is in the other process').toHaveLength(0);
    await child.exited;
    await billing.close();
  });
});

describe('Kafka with the B3 propagator registered', () => {
  const sdk = useOtelSdk({
    propagator: new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
  });
  let ns: Namespace;
  afterEach(async () => {
    await ns?.cleanup();
  });

  it('writes B3 headers naming the create span, and the consumer reads them', async () => {
    ns = namespace(MAJOR, 'otel-b3');
    const transport = ns.transport();
    const topic = transport.topicFor('order.placed');
    const orders = createBus({ service: 'orders', transport });
    const billing = createBus({ service: 'billing', transport });
    const handled: string[] = [];
    await billing.subscribe({
      name: ns.group('billing'),
      handlers: [on(Placed, (m) => void handled.push(m.id))],
    });
    await orders.publish(Placed, { orderId: 'o-4' });
    await until(
      () => handled.length === 1,
      () => sdk.spans().length,
    );
    const create = onlySpan(sdk, `create ${topic}`);
    const [record] = await ns.readTopic(topic, 1);
    expect(record?.headers['x-b3-traceid']).toBe(create.spanContext().traceId);
    expect(record?.headers['x-b3-spanid']).toBe(spanIdOf(create));
    expect(record?.headers['x-b3-sampled']).toBe('1');
    expect(record?.headers.traceparent, 'no W3C header: B3 is the configured propagator').toBe(
      undefined,
    );
    const process = onlySpan(sdk, `process ${topic}`);
    expect(process.links.map((l) => l.context.spanId)).toEqual([spanIdOf(create)]);

    // A producer that writes only B3 headers (no CloudEvents traceparent): the consumer
    // takes the creation context from them.
    const foreign = trace.getTracer('another-client').startSpan('foreign create');
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), foreign), headers);
    foreign.end();
    const message = jsonMessage('order.placed', { orderId: 'o-5' });
    await transport.publish([{ ...message, headers }]);
    await until(
      () => handled.length === 2,
      () => sdk.spans().length,
    );
    const fromB3 = sdk
      .named(`process ${topic}`)
      .find((s) => s.attributes['messaging.message.id'] === message.attributes.id);
    expect(fromB3?.links.map((l) => l.context.spanId)).toEqual([foreign.spanContext().spanId]);
    expect(fromB3?.links[0]?.context.traceId).toBe(foreign.spanContext().traceId);
    await orders.close();
    await billing.close();
  });
});
