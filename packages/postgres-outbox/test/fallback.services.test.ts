// The fallback durable store: a publish the broker refuses or does not answer in time is written
// to the outbox, and the relay delivers it once the broker is back.
import { CapabilityError, createBus, createOutboxRelay, defineCommand } from '@eda/core';
import { expect, it } from 'vitest';
import { createFallbackTransport, createPostgresOutboxStore } from '../src/index.js';
import { dataOf, OrderPlaced, recordingTransport, useTestScope } from './helpers.js';

const scope = useTestScope();

async function setup() {
  const db = await scope.open('fallback');
  const pool = db.pool();
  const store = createPostgresOutboxStore({ pool, schema: db.schema.name });
  scope.track(store);
  const broker = recordingTransport();
  const fallbacks: unknown[] = [];
  const transport = createFallbackTransport({
    transport: broker,
    store,
    pool,
    timeoutMs: 200,
    onFallback: (error) => fallbacks.push(error),
  });
  return { pool, store, broker, transport, fallbacks };
}

it('publishes directly while the broker accepts, and writes nothing to the outbox', async () => {
  const { store, broker, transport, fallbacks } = await setup();
  await createBus({ service: 'orders', transport }).publish(OrderPlaced, {
    orderId: 'direct',
    n: 1,
  });
  expect(broker.published.map(dataOf)).toEqual([{ orderId: 'direct', n: 1 }]);
  expect(fallbacks).toEqual([]);
  expect(await store.counts()).toEqual({ pending: 0, published: 0, dead: 0 });
});

it('stores a refused publish in the outbox; the relay delivers it when the broker is back', async () => {
  const { store, broker, transport, fallbacks } = await setup();
  broker.failWhen = () => true;
  await createBus({ service: 'orders', transport }).publish(
    OrderPlaced,
    { orderId: 'refused', n: 1 },
    { partitionKey: 'r' },
  );
  expect(fallbacks).toHaveLength(1);
  expect(String(fallbacks[0])).toMatch(/broker refused/);
  expect(await store.counts()).toEqual({ pending: 1, published: 0, dead: 0 });
  broker.failWhen = () => false;
  expect(await createOutboxRelay({ store, transport: broker }).drain()).toBe(1);
  expect(broker.published.map(dataOf)).toEqual([{ orderId: 'refused', n: 1 }]);
});

it('stores a publish the broker does not answer within timeoutMs', async () => {
  const { store, broker, transport, fallbacks } = await setup();
  let releaseHang!: () => void;
  broker.beforeAck = () =>
    new Promise<void>((resolve) => {
      releaseHang = resolve;
    });
  await createBus({ service: 'orders', transport }).publish(OrderPlaced, { orderId: 'slow', n: 1 });
  expect(String(fallbacks[0])).toMatch(/did not complete within 200 ms/);
  expect(await store.counts()).toEqual({ pending: 1, published: 0, dead: 0 });
  releaseHang();
});

it('raises errors a fallback cannot fix (a missing capability) instead of storing the message', async () => {
  const { store, broker, transport } = await setup();
  broker.send = async () => {
    throw new CapabilityError('no commands here');
  };
  const Ship = defineCommand<{ id: string }>({ type: 'ship', owner: 'orders' });
  await expect(
    transport.send([
      {
        attributes: {
          id: '1',
          type: Ship.type,
          source: 'orders',
          specversion: '1.0',
          kind: 'command',
        },
        body: new Uint8Array(),
      },
    ]),
  ).rejects.toThrow(CapabilityError);
  expect(await store.counts()).toEqual({ pending: 0, published: 0, dead: 0 });
});
