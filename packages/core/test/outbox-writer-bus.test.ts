// A writer that only writes to the outbox needs no transport: a relay in another process
// publishes what it wrote.
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createBus,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  createOutboxRelay,
  defineCommand,
  defineEvent,
  on,
} from '../src/index.js';
import { until } from './test-helpers.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const ShipOrder = defineCommand<{ orderId: string }>({ type: 'ship.order', owner: 'shipping' });

describe('a bus without a transport (an outbox writer)', () => {
  it('writes events and commands to the outbox, and a relay with a transport publishes them', async () => {
    const outbox = createInMemoryOutboxStore();
    const writer = createBus({ service: 'orders', outbox });
    await outbox.transaction(async (tx) => {
      await writer.publish(OrderPlaced, { orderId: 'o-1' }, { transaction: tx });
      await writer.send(ShipOrder, { orderId: 'o-1' }, { transaction: tx });
    });

    const transport = createInMemoryTransport();
    const seen: string[] = [];
    const shipping = createBus({ service: 'shipping', transport });
    await shipping.subscribe({
      handlers: [on(ShipOrder, ({ data }) => void seen.push(`ship ${data.orderId}`))],
    });
    const billing = createBus({ service: 'billing', transport });
    await billing.subscribe({
      handlers: [on(OrderPlaced, ({ data }) => void seen.push(`placed ${data.orderId}`))],
    });
    const relay = createOutboxRelay({ store: outbox, transport, pollIntervalMs: 5 });
    relay.start();
    try {
      await until(() => seen.length === 2);
      expect(seen.sort()).toEqual(['placed o-1', 'ship o-1']);
    } finally {
      await relay.stop();
      await transport.close();
      transport.broker.close();
    }
  });

  it('refuses, with what to do, to publish or send without a transaction, and to subscribe', async () => {
    const writer = createBus({ service: 'orders', outbox: createInMemoryOutboxStore() });
    const noTransport =
      /has no transport, so it cannot .*write to the outbox with \{ transaction \}/;
    await expect(writer.publish(OrderPlaced, { orderId: 'o-1' })).rejects.toThrow(noTransport);
    await expect(writer.send(ShipOrder, { orderId: 'o-1' })).rejects.toThrow(noTransport);
    await expect(
      writer.subscribe({ handlers: [on(OrderPlaced, () => undefined)] }),
    ).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('still needs a transport or an outbox', () => {
    expect(() => createBus({ service: 'orders' })).toThrow(
      /needs a transport.*or \(for a writer that only emits with \{ transaction \}\) an outbox store/,
    );
  });
});
