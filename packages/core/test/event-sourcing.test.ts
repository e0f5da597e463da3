// Domain events at run time: refused by publish, send and on with the documented error;
// appended and replayed (with upcasting) through the in-memory event store; and committed with
// their translation to integration events, which a relay publishes with the stream version.
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createBus,
  createEventCommitter,
  createInMemoryEventStore,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  createOutboxRelay,
  DomainEventError,
  defineDomainEvent,
  defineEvent,
  domainEvent,
  isEventOf,
  OwnershipError,
  on,
  type ReceivedMessage,
  replay,
  when,
} from '../src/index.js';

const StockReserved = defineDomainEvent<{ sku: string; quantity: number }>({
  type: 'stock.reserved',
  version: 2,
  // Version 1 called the quantity `qty`.
  upcasters: {
    1: (data) => ({ sku: (data as { sku: string }).sku, quantity: (data as { qty: number }).qty }),
  },
});
const StockReleased = defineDomainEvent<{ sku: string; quantity: number }>({
  type: 'stock.released',
});
const StockLevelChanged = defineEvent<{ sku: string; reserved: number }>({
  type: 'stock.level-changed',
  owner: 'inventory',
});

describe('domain events are never published, sent or handled', () => {
  const bus = createBus({ service: 'inventory', transport: createInMemoryTransport() });
  const asAny = StockReserved as never;

  it('publish and send refuse them with DomainEventError (EDA_DOMAIN_EVENT), saying what to do', async () => {
    for (const attempt of [bus.publish(asAny, asAny), bus.send(asAny, asAny)]) {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(DomainEventError.isInstance(error)).toBe(true);
      expect((error as DomainEventError).code).toBe('EDA_DOMAIN_EVENT');
      expect((error as Error).message).toMatch(
        /"stock\.reserved" is a domain event.*Publish an integration event \(defineEvent\)/,
      );
    }
  });

  it('on() refuses them', () => {
    expect(() => on(asAny, () => undefined)).toThrow(/is a domain event: .* never subscribed to/);
  });

  it('an event store refuses integration events', async () => {
    const store = createInMemoryEventStore();
    await expect(
      store.transaction((tx) =>
        store.append(tx, 's', 0, [{ definition: StockLevelChanged as never, data: {} }]),
      ),
    ).rejects.toThrow(/can only hold domain events .* got the event "stock\.level-changed"/);
  });
});

describe('replay', () => {
  it('folds a stream, upcasting older versions, and refuses a type it has no when() for', async () => {
    const store = createInMemoryEventStore();
    const OldReserved = defineDomainEvent<{ sku: string; qty: number }>({ type: 'stock.reserved' });
    await store.transaction((tx) =>
      store.append(tx, 'stock-a', 0, [
        domainEvent(OldReserved, { sku: 'a', qty: 5 }),
        domainEvent(StockReserved, { sku: 'a', quantity: 2 }),
        domainEvent(StockReleased, { sku: 'a', quantity: 3 }),
      ]),
    );
    const events = await store.readStream('stock-a');
    expect(events.map((e) => e.schemaVersion)).toEqual([1, 2, 1]);
    const reserved = replay(events, 0, [
      when(StockReserved, (state: number, data) => state + data.quantity),
      when(StockReleased, (state: number, data) => state - data.quantity),
    ]);
    expect(reserved).toBe(4);
    expect(() => replay(events, 0, [when(StockReserved, (s: number) => s)])).toThrow(
      ConfigurationError,
    );
  });
});

describe('createEventCommitter', () => {
  it('writes the translation to the outbox with the stream version; the relay publishes it', async () => {
    const outbox = createInMemoryOutboxStore();
    const store = createInMemoryEventStore({ outbox });
    const transport = createInMemoryTransport();
    const committer = createEventCommitter({ service: 'inventory', store, outbox });
    const received: ReceivedMessage<{ sku: string; reserved: number }>[] = [];
    const shipping = createBus({ service: 'shipping', transport });
    await shipping.subscribe({ handlers: [on(StockLevelChanged, (m) => void received.push(m))] });
    const relay = createOutboxRelay({ store: outbox, transport });
    relay.start();
    try {
      await committer.commit(
        'stock-a',
        0,
        [
          domainEvent(StockReserved, { sku: 'a', quantity: 2 }),
          domainEvent(StockReleased, { sku: 'a', quantity: 1 }),
          domainEvent(StockReserved, { sku: 'a', quantity: 4 }),
        ],
        {
          publish: (event, publish) => {
            if (isEventOf(StockReserved, event))
              publish(
                StockLevelChanged,
                { sku: event.data.sku, reserved: event.data.quantity },
                { partitionKey: 'sku-a' },
              );
          },
        },
      );
      await expect.poll(() => received.length).toBe(2);
      expect(received.map((m) => [m.version, m.partitionkey, m.data.reserved])).toEqual([
        [1, 'sku-a', 2],
        [3, 'sku-a', 4],
      ]);
      expect(received.some((m) => m.type.startsWith('stock.re'))).toBe(false);
    } finally {
      await relay.stop();
      await transport.close();
    }
  });

  it('refuses integration events another service owns, and domain events, writing nothing', async () => {
    const outbox = createInMemoryOutboxStore();
    const store = createInMemoryEventStore({ outbox });
    const committer = createEventCommitter({ service: 'billing', store, outbox });
    const commit = (publish: Parameters<typeof committer.commit>[3]) =>
      committer.commit(
        'stock-a',
        0,
        [domainEvent(StockReleased, { sku: 'a', quantity: 1 })],
        publish,
      );
    await expect(
      commit({ publish: (_e, p) => p(StockLevelChanged, { sku: 'a', reserved: 1 }) }),
    ).rejects.toThrow(OwnershipError);
    await expect(
      commit({ publish: (_e, p) => p(StockReleased as never, {} as never) }),
    ).rejects.toThrow(DomainEventError);
    expect(await store.streamVersion('stock-a')).toBe(0);
    expect(outbox.rows()).toEqual([]);
  });
});
