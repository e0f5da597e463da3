// The fallback transport keeps per-key order in the process: once a key has a record waiting in
// the outbox, later messages of that key go to the outbox too (behind it) until it is relayed.
import { createBus, createOutboxRelay } from '@eda/core';
import { expect, it } from 'vitest';
import { createFallbackTransport, createPostgresOutboxStore } from '../src/index.js';
import { dataOf, OrderPlaced, recordingTransport, useTestScope } from './helpers.js';

const scope = useTestScope();

async function setup() {
  const db = await scope.open('fallback_order');
  const pool = db.pool();
  const store = scope.track(createPostgresOutboxStore({ pool, schema: db.schema.name }));
  const broker = recordingTransport();
  // The broker does not answer the direct publish of M1 (the fallback's timeout sends it to the
  // outbox); it answers everything else at once, the relay's publish of M1 included.
  const hanging: (() => void)[] = [];
  broker.beforeAck = (messages) =>
    hanging.length === 0 && messages.some((m) => dataOf(m).orderId === 'm1')
      ? new Promise<void>((resolve) => hanging.push(resolve))
      : Promise.resolve();
  const fallbacks: unknown[] = [];
  const transport = createFallbackTransport({
    transport: broker,
    store,
    pool,
    timeoutMs: 200,
    onFallback: (error) => fallbacks.push(error),
  });
  const bus = createBus({ service: 'orders', transport });
  const relay = createOutboxRelay({ store, transport: broker, purge: false });
  return { store, broker, bus, relay, fallbacks, hanging };
}

const orderIds = (broker: ReturnType<typeof recordingTransport>) =>
  broker.published.map((m) => dataOf(m).orderId);

it('M1 for K times out and goes to the outbox; M2 for K, published after it, arrives after M1', async () => {
  const { store, broker, bus, relay, fallbacks, hanging } = await setup();
  await bus.publish(OrderPlaced, { orderId: 'm1', n: 1 }, { partitionKey: 'K' });
  expect(fallbacks).toHaveLength(1);
  await bus.publish(OrderPlaced, { orderId: 'm2', n: 2 }, { partitionKey: 'K' });
  // Another key is not held back.
  await bus.publish(OrderPlaced, { orderId: 'other', n: 3 }, { partitionKey: 'L' });
  expect(orderIds(broker), 'M2 must wait behind M1 in the outbox').toEqual(['other']);
  expect(await store.counts()).toMatchObject({ pending: 2 });
  expect(await relay.drain()).toBe(2);
  expect(orderIds(broker)).toEqual(['other', 'm1', 'm2']);
  // M1 relayed: the key goes direct again.
  await bus.publish(OrderPlaced, { orderId: 'm3', n: 4 }, { partitionKey: 'K' });
  expect(orderIds(broker)).toEqual(['other', 'm1', 'm2', 'm3']);
  expect(await store.counts()).toMatchObject({ pending: 0 });
  for (const release of hanging) release();
});

it('M2 for K published while M1 is still in flight (not awaited) waits for M1, and follows it to the outbox', async () => {
  const { broker, bus, relay, hanging } = await setup();
  await Promise.all([
    bus.publish(OrderPlaced, { orderId: 'm1', n: 1 }, { partitionKey: 'K' }),
    bus.publish(OrderPlaced, { orderId: 'm2', n: 2 }, { partitionKey: 'K' }),
  ]);
  expect(orderIds(broker)).toEqual([]);
  expect(await relay.drain()).toBe(2);
  expect(orderIds(broker)).toEqual(['m1', 'm2']);
  for (const release of hanging) release();
});
