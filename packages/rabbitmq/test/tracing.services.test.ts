// OpenTelemetry spans and metrics of the RabbitMQ transport with the real SDK, on the real
// broker: an event publish -> consume, a command that is retried and then dead-lettered.
import { createBus, defineCommand, defineEvent, on } from '@eda/core';
import { cleanupServices } from '@eda/test-services';
import { onlySpan, spanIdOf, useOtelSdk } from '@eda/test-services/otel';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { until, useRabbitNamespace } from './rabbit-env.js';

const Placed = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const Charge = defineCommand<{ orderId: string }>({ type: 'payment.charge', owner: 'payments' });

describe('RabbitMQ spans and metrics (real SDK)', () => {
  const sdk = useOtelSdk();
  afterEach(async () => {
    sdk.reset();
    await cleanupServices();
  });

  it('publish -> consume: create and publish spans on the exchange, process and ack spans on the subscription queue', async () => {
    const ns = useRabbitNamespace('otel');
    const transport = ns.transport();
    const exchange = `${ns.prefix}.events`;
    const queue = `${ns.prefix}.billing.events`;
    const orders = createBus({ service: 'orders', transport });
    const billing = createBus({ service: 'billing', transport });
    const handled: string[] = [];
    await billing.subscribe({ handlers: [on(Placed, (m) => void handled.push(m.id))] });
    await orders.publish(Placed, { orderId: 'o-1' });
    await until(() => sdk.named(`ack ${queue}`).length === 1, {
      progress: () => sdk.spans().length,
    });

    const create = onlySpan(sdk, `create ${exchange}`);
    const publish = onlySpan(sdk, `publish ${exchange}`);
    const process = onlySpan(sdk, `process ${queue}`);
    const ack = onlySpan(sdk, `ack ${queue}`);
    expect(create.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'create',
      'messaging.destination.name': exchange,
    });
    expect(publish.kind).toBe(SpanKind.CLIENT);
    expect(publish.instrumentationScope.name).toBe('@eda/rabbitmq');
    expect(publish.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': exchange,
      'messaging.rabbitmq.destination.routing_key': 'order.placed',
      'messaging.message.id': handled[0],
      'server.address': '127.0.0.1',
      'server.port': 5672,
    });
    expect(publish.links.map((l) => l.context.spanId)).toEqual([spanIdOf(create)]);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queue,
      'messaging.rabbitmq.destination.routing_key': 'order.placed',
      'messaging.rabbitmq.message.delivery_tag': expect.any(Number),
      'messaging.message.id': handled[0],
    });
    expect(
      Object.keys(process.attributes),
      'consumer groups do not apply to RabbitMQ',
    ).not.toContain('messaging.consumer.group.name');
    expect(process.links.map((l) => l.context.spanId)).toEqual([spanIdOf(create)]);
    expect(ack.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'ack',
      'messaging.destination.name': queue,
    });
    expect(ack.parentSpanContext?.spanId).toBe(spanIdOf(process));

    const metrics = await sdk.collectMetrics();
    const sent = metrics
      .get('messaging.client.sent.messages')
      ?.points.find((p) => p.attributes['messaging.destination.name'] === exchange);
    expect(sent?.value).toBe(1);
    expect(sent?.attributes['messaging.system']).toBe('rabbitmq');
    const consumed = metrics
      .get('messaging.client.consumed.messages')
      ?.points.find((p) => p.attributes['messaging.destination.name'] === queue);
    expect(consumed?.value).toBe(1);
    await orders.close();
    await billing.close();
  });

  it('a command retried then dead-lettered: send on the owning queue, error.type on each process span, retry and dead_letter settle spans, counted', async () => {
    const ns = useRabbitNamespace('otel-dead');
    const transport = ns.transport();
    const queue = `${ns.prefix}.payment.charge`;
    const checkout = createBus({ service: 'checkout', transport });
    const payments = createBus({
      service: 'payments',
      transport,
      retry: { immediateRetries: 0, maxDeliveries: 2, initialDelayMs: 100 },
    });
    await payments.subscribe({
      handlers: [
        on(Charge, () => {
          throw new RangeError('card declined');
        }),
      ],
    });
    await checkout.send(Charge, { orderId: 'o-2' });
    await until(() => sdk.named(`dead_letter ${queue}`).length === 1, {
      progress: () => sdk.spans().length,
    });

    const send = onlySpan(sdk, `send ${queue}`);
    expect(send.attributes).toMatchObject({
      'messaging.operation.name': 'send',
      'messaging.destination.name': queue,
      'messaging.rabbitmq.destination.routing_key': queue,
    });
    const processes = sdk.named(`process ${queue}`);
    expect(processes).toHaveLength(2);
    for (const span of processes) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('RangeError');
    }
    const retry = onlySpan(sdk, `retry ${queue}`);
    const deadLetter = onlySpan(sdk, `dead_letter ${queue}`);
    expect(retry.parentSpanContext?.spanId).toBe(spanIdOf(processes[0]!));
    expect(deadLetter.parentSpanContext?.spanId).toBe(spanIdOf(processes[1]!));
    expect(deadLetter.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'dead_letter',
    });
    expect(await ns.deadLetters('payments')).toHaveLength(1);

    const metrics = await sdk.collectMetrics();
    const deadLetters = metrics
      .get('eda.consumer.dead_letters')
      ?.points.find((p) => p.attributes['messaging.destination.name'] === queue);
    expect(deadLetters?.value).toBe(1);
    await checkout.close();
    await payments.close();
  });
});
