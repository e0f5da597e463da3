// Inventory's own state: the stock of each SKU as an event-sourced stream (`stock-<sku>`) of
// domain events that never leave the service. What other services may know is a smaller
// integration event, StockAvailabilityChanged, which the translation below derives from them in
// the same transaction (docs/event-sourcing.md explains the pitfall this avoids).
import {
  createEventCommitter,
  defineDomainEvent,
  domainEvent,
  type EventStore,
  type NewDomainEvent,
  type OutboxStore,
  type RecordedEvent,
  replay,
  when,
} from '@eda/core';
import { StockAvailabilityChanged } from '../contracts.js';

/** Goods arrived at the warehouse (the first delivery, and each restock). Internal. */
export const StockReceived = defineDomainEvent<{ sku: string; quantity: number }>({
  type: 'stock.received',
});

/** Goods set aside for an order. Internal: the outside world learns only the new availability. */
export const StockReserved = defineDomainEvent<{ sku: string; orderId: string; quantity: number }>({
  type: 'stock.reserved',
});

interface Stock {
  readonly onHand: number;
  readonly reserved: number;
}

const NO_STOCK: Stock = { onHand: 0, reserved: 0 };

// The only two changes of a SKU's stock, shared by the replay of a stream and by the decision.
const received = (s: Stock, quantity: number): Stock => ({ ...s, onHand: s.onHand + quantity });
const reserved = (s: Stock, quantity: number): Stock => ({ ...s, reserved: s.reserved + quantity });

const evolve = [
  when(StockReceived, (s: Stock, e) => received(s, e.quantity)),
  when(StockReserved, (s: Stock, e) => reserved(s, e.quantity)),
];

const available = (s: Stock) => s.onHand - s.reserved;

export interface StockStreamsOptions {
  readonly store: EventStore<unknown>;
  readonly outbox: OutboxStore<unknown>;
  /** The first delivery of each SKU, received when its stream starts. */
  readonly initialStock: Readonly<Record<string, number>>;
  /** Received again when a reservation would take more than is available. @default 100 */
  readonly restockQuantity?: number;
}

export function createStockStreams(options: StockStreamsOptions) {
  const { store, outbox, initialStock, restockQuantity = 100 } = options;
  const committer = createEventCommitter({ service: 'inventory', store, outbox });
  // What this process has read of each stream, so a load reads only the events appended since.
  // It may hold a reservation whose transaction later rolls back: every load checks that the
  // last event it remembers is still there (same version, same position) and reads the whole
  // stream when it is not.
  const known = new Map<string, { version: number; position: string; stock: Stock }>();

  /** Loads a SKU's stock through `transaction` (its own appends included) or committed. */
  const load = async (sku: string, transaction?: unknown) => {
    const stream = `stock-${sku}`;
    const read = (fromVersion: number) =>
      store.readStream(stream, {
        fromVersion,
        ...(transaction === undefined ? {} : { transaction }),
      });
    const cached = known.get(stream);
    let base = { version: 0, position: '', stock: NO_STOCK };
    let newer: RecordedEvent[] | undefined;
    if (cached) {
      const tail = await read(cached.version);
      if (tail[0]?.position === cached.position) {
        base = cached;
        newer = tail.slice(1);
      }
    }
    newer ??= await read(1);
    const last = newer.at(-1);
    const current = {
      version: last?.version ?? base.version,
      position: last?.position ?? base.position,
      stock: replay(newer, base.stock, evolve),
    };
    if (current.version > 0) known.set(stream, current);
    return { stream, ...current };
  };

  return {
    /**
     * Reserves `quantity` of `sku` for an order in `transaction`: the stream's domain events and
     * their translation into the outbox commit together. A concurrent reservation of the same
     * SKU makes the append throw StreamVersionConflictError, and the bus runs the handler again
     * on the new version without spending its deliveries.
     */
    async reserve(transaction: unknown, sku: string, orderId: string, quantity: number) {
      // Read in the transaction that appends: a read outside it would take a second pooled
      // connection while the handler holds one (concurrent handlers could starve the pool).
      const { stream, version, stock } = await load(sku, transaction);
      // The decision, event by event; the availability after each goes to the translation.
      const events: NewDomainEvent[] = [];
      const availability: number[] = [];
      let state = stock;
      const decide = (event: NewDomainEvent, next: Stock) => {
        events.push(event);
        state = next;
        availability.push(available(state));
      };
      if (version === 0) {
        const first = initialStock[sku] ?? 0;
        decide(domainEvent(StockReceived, { sku, quantity: first }), received(state, first));
      }
      if (available(state) < quantity) {
        const restock = restockQuantity + quantity;
        decide(domainEvent(StockReceived, { sku, quantity: restock }), received(state, restock));
      }
      decide(domainEvent(StockReserved, { sku, orderId, quantity }), reserved(state, quantity));
      await committer.commit(stream, version, events, {
        transaction,
        // The one place where state meets communication: the world learns how many of the SKU
        // can still be ordered, keyed by the SKU; never who reserved what, never a restock.
        publish: (event, publish) =>
          publish(
            StockAvailabilityChanged,
            { sku, available: availability[event.version - version - 1] as number },
            { partitionKey: sku, subject: sku },
          ),
      });
      return available(state);
    },

    /** What can be ordered of each SKU now (committed state, read from the streams). */
    async availability(): Promise<Record<string, number>> {
      const skus = Object.keys(initialStock);
      const levels = await Promise.all(skus.map(async (sku) => available((await load(sku)).stock)));
      return Object.fromEntries(skus.map((sku, i) => [sku, levels[i] as number]));
    },

    /** The domain events of a SKU's stream, for the demo's report. */
    history: (sku: string) => store.readStream(`stock-${sku}`),
  };
}
