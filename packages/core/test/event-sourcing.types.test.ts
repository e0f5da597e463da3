// Compile-time guarantees of domain events: `pnpm typecheck` fails if a line marked as an
// expected error compiles. A domain event can be appended, never published, sent or handled.
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createBus,
  createEventCommitter,
  createInMemoryEventStore,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  defineDomainEvent,
  defineEvent,
  domainEvent,
  type NewDomainEvent,
  on,
  replay,
  when,
} from '../src/index.js';

const StockReserved = defineDomainEvent({
  type: 'stock.reserved',
  schema: z.object({ sku: z.string(), quantity: z.number() }),
});
const StockReleased = defineDomainEvent<{ sku: string; quantity: number }>({
  type: 'stock.released',
});
const StockLevelChanged = defineEvent<{ sku: string; available: number }>({
  type: 'stock.level-changed',
  owner: 'inventory',
});

describe('domain event types', () => {
  const bus = createBus({ service: 'inventory', transport: createInMemoryTransport() });

  it('types the data of appends and replays from the schema or the type argument', () => {
    expectTypeOf(domainEvent(StockReserved, { sku: 'a', quantity: 1 })).toEqualTypeOf<
      NewDomainEvent<typeof StockReserved>
    >();
    const change = when(StockReleased, (state: number, data) => {
      expectTypeOf(data).toEqualTypeOf<{ sku: string; quantity: number }>();
      return state - data.quantity;
    });
    expectTypeOf(replay([], 0, [change])).toEqualTypeOf<number>();
  });

  it('refuses a domain event in publish, send and on, and wrong data in appends, at compile time', () => {
    // Compile-time only: the closure is never run.
    const compileOnly = () => {
      // @ts-expect-error a domain event is never published
      void bus.publish(StockReserved, { sku: 'a', quantity: 1 });
      // @ts-expect-error a domain event is never sent
      void bus.send(StockReserved, { sku: 'a', quantity: 1 });
      // @ts-expect-error a domain event is never subscribed to
      on(StockReserved, () => undefined);
      // @ts-expect-error quantity must be a number
      domainEvent(StockReserved, { sku: 'a', quantity: '1' });
      // @ts-expect-error an integration event is not appended to a stream
      domainEvent(StockLevelChanged, { sku: 'a', available: 1 });
      const outbox = createInMemoryOutboxStore();
      const committer = createEventCommitter({
        service: 'inventory',
        store: createInMemoryEventStore({ outbox }),
        outbox,
      });
      void committer.commit('stock-a', 0, [domainEvent(StockReserved, { sku: 'a', quantity: 1 })], {
        publish: (_event, publish) => {
          publish(StockLevelChanged, { sku: 'a', available: 3 });
          // @ts-expect-error a translation publishes integration events, not domain events
          publish(StockReleased, { sku: 'a', quantity: 1 });
          // @ts-expect-error available is missing
          publish(StockLevelChanged, { sku: 'a' });
        },
      });
    };
    expectTypeOf(compileOnly).toBeFunction();
  });
});
