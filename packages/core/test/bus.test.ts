import { describe, expect, it } from 'vitest';
import {
  CapabilityError,
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryOutboxStore,
  createInMemoryPayloadStore,
  createInMemoryTransport,
  createOutboxRelay,
  defineCommand,
  defineEvent,
  OwnershipError,
  on,
  type ReceivedMessage,
  readDeadLetterReason,
  type Transport,
} from '../src/index.js';
import { until } from './test-helpers.js';

const OrderPlaced = defineEvent<{ orderId: string; total: number }>({
  type: 'order.placed',
  owner: 'orders',
});
const ShipOrder = defineCommand<{ orderId: string }>({ type: 'ship.order', owner: 'shipping' });

describe('bus over the in-memory transport', () => {
  it('delivers an event with its data and inherits correlation and causation into what the handler sends', async () => {
    const transport = createInMemoryTransport();
    const orders = createBus({ service: 'orders', transport });
    const billing = createBus({ service: 'billing', transport });
    const shipping = createBus({ service: 'shipping', transport });
    const shipped: ReceivedMessage<{ orderId: string }>[] = [];
    let placed: ReceivedMessage<{ orderId: string; total: number }> | undefined;
    await billing.subscribe({
      handlers: [
        on(OrderPlaced, async (message) => {
          placed = message;
          await billing.send(ShipOrder, { orderId: message.data.orderId });
        }),
      ],
    });
    await shipping.subscribe({
      handlers: [on(ShipOrder, (message) => void shipped.push(message))],
    });
    await orders.publish(OrderPlaced, { orderId: 'o-1', total: 42 }, { partitionKey: 'o-1' });
    await until(() => shipped.length === 1);
    expect(placed?.data).toEqual({ orderId: 'o-1', total: 42 });
    expect(placed?.source).toBe('orders');
    expect(shipped[0]?.data).toEqual({ orderId: 'o-1' });
    expect(shipped[0]?.correlationid).toBe(placed?.id);
    expect(shipped[0]?.causationid).toBe(placed?.id);
    expect(shipped[0]?.traceparent?.slice(3, 35)).toBe(placed?.traceparent?.slice(3, 35));
    // Without an OpenTelemetry SDK the ids are still W3C children: same trace, a new span id.
    expect(shipped[0]?.traceparent?.slice(36, 52)).not.toBe(placed?.traceparent?.slice(36, 52));
    await transport.close();
  });

  it('does not emit what a failed handler sent, and dead-letters after the configured deliveries', async () => {
    const transport = createInMemoryTransport();
    const orders = createBus({ service: 'orders', transport });
    const billing = createBus({
      service: 'billing',
      transport,
      retry: { immediateRetries: 1, maxDeliveries: 3, initialDelayMs: 5 },
    });
    const shipping = createBus({ service: 'shipping', transport });
    let calls = 0;
    let shippedCount = 0;
    await billing.subscribe({
      handlers: [
        on(OrderPlaced, async (message) => {
          calls += 1;
          await billing.send(ShipOrder, { orderId: message.data.orderId });
          throw new Error('card declined');
        }),
      ],
    });
    await shipping.subscribe({
      handlers: [
        on(ShipOrder, () => {
          shippedCount += 1;
        }),
      ],
    });
    await orders.publish(OrderPlaced, { orderId: 'o-2', total: 1 });
    await until(() => transport.broker.deadLetters('billing').length === 1);
    expect(calls).toBe(6); // 3 deliveries x (1 try + 1 immediate retry)
    const reason = readDeadLetterReason(transport.broker.deadLetters('billing')[0]!.headers);
    expect(reason).toMatchObject({
      code: 'EDA_HANDLER',
      message: 'card declined',
      attempts: 3,
      subscription: 'billing',
    });
    expect(shippedCount).toBe(0);
    await transport.close();
  });

  it('refuses to publish an event another service owns and to handle a command another service owns', async () => {
    const transport = createInMemoryTransport();
    const billing = createBus({ service: 'billing', transport });
    await expect(billing.publish(OrderPlaced, { orderId: 'x', total: 1 })).rejects.toThrow(
      OwnershipError,
    );
    await expect(billing.publish(OrderPlaced, { orderId: 'x', total: 1 })).rejects.toThrow(
      /owned by "orders"/,
    );
    await expect(billing.subscribe({ handlers: [on(ShipOrder, () => undefined)] })).rejects.toThrow(
      /owned by "shipping"/,
    );
  });

  it('refuses commands on a transport that cannot give them one owner', async () => {
    const inner = createInMemoryTransport();
    const logOnly: Transport = {
      ...inner,
      name: 'log-only',
      capabilities: { ...inner.capabilities, commands: false },
    };
    const orders = createBus({ service: 'orders', transport: logOnly });
    await expect(orders.send(ShipOrder, { orderId: 'x' })).rejects.toThrow(CapabilityError);
  });

  it('writes to the outbox only when the transaction commits, and the relay publishes it', async () => {
    const transport = createInMemoryTransport();
    const outbox = createInMemoryOutboxStore();
    const orders = createBus({ service: 'orders', transport, outbox });
    const seen: string[] = [];
    await createBus({ service: 'audit', transport }).subscribe({
      handlers: [on(OrderPlaced, (m) => void seen.push(m.data.orderId))],
    });
    await outbox.transaction((tx) =>
      orders.publish(OrderPlaced, { orderId: 'kept', total: 1 }, { transaction: tx }),
    );
    await outbox
      .transaction(async (tx) => {
        await orders.publish(
          OrderPlaced,
          { orderId: 'rolled-back', total: 1 },
          { transaction: tx },
        );
        throw new Error('business rule failed');
      })
      .catch(() => undefined);
    const relay = createOutboxRelay({ store: outbox, transport });
    expect(await relay.drain()).toBe(1);
    await until(() => seen.length === 1);
    expect(seen).toEqual(['kept']);
  });

  it('skips duplicates with an idempotency store and offloads large data through the claim check', async () => {
    const transport = createInMemoryTransport();
    const store = createInMemoryPayloadStore();
    const idempotency = { store: createInMemoryIdempotencyStore() };
    const Big = defineEvent<{ blob: string }>({ type: 'big.thing', owner: 'orders' });
    const orders = createBus({
      service: 'orders',
      transport,
      claimCheck: { store, thresholdBytes: 1024 },
    });
    const consumer = createBus({
      service: 'consumer',
      transport,
      claimCheck: { store },
      idempotency,
    });
    const received: string[] = [];
    await consumer.subscribe({ handlers: [on(Big, (m) => void received.push(m.data.blob))] });
    const blob = 'x'.repeat(100_000);
    await orders.publish(Big, { blob }, { id: 'fixed-id' });
    await orders.publish(Big, { blob }, { id: 'fixed-id' }); // a duplicate on the wire
    await until(
      () =>
        transport.broker.committedOffsets('consumer', 'big.thing')?.reduce((a, b) => a + b, 0) ===
        2,
    );
    expect(received).toEqual([blob]);
    expect(store.objects.size).toBe(2);
    const record = transport.broker.topic('big.thing').partitions.flat()[0]!;
    expect(record.body.byteLength).toBe(0);
    expect(record.headers.ce_dataref).toMatch(/^memory:\/\/memory\/payloads\//);
  });
});
