// Inventory's event-sourced stock (services/stock.ts): what a reservation reads and remembers
// must be what was committed, also when a handler's transaction rolls back after reserving.
import { createInMemoryEventStore, createInMemoryOutboxStore } from '@eda/core';
import { describe, expect, it } from 'vitest';
import { createStockStreams } from '../src/services/stock.js';

function stockOf(initialStock: Record<string, number>) {
  const outbox = createInMemoryOutboxStore();
  const store = createInMemoryEventStore({ outbox });
  return { outbox, stock: createStockStreams({ store, outbox, initialStock }) };
}

const orderIds = (events: readonly { data: unknown }[]) =>
  events.map((e) => (e.data as { orderId?: string }).orderId ?? 'received');

describe('stock streams', () => {
  it('forgets a reservation whose transaction rolled back, and reserves on the committed stream', async () => {
    const { outbox, stock } = stockOf({ mug: 10 });
    await outbox.transaction((tx) => stock.reserve(tx, 'mug', 'o-1', 2));
    await expect(
      outbox.transaction(async (tx) => {
        // Two lines of one SKU: the second load reads the first's append (uncommitted).
        await stock.reserve(tx, 'mug', 'o-2', 1);
        expect(await stock.reserve(tx, 'mug', 'o-2', 2), 'available inside the transaction').toBe(
          5,
        );
        throw new Error('the handler failed after reserving');
      }),
    ).rejects.toThrow('the handler failed after reserving');
    expect(await stock.availability(), 'after the rollback').toEqual({ mug: 8 });
    expect(await outbox.transaction((tx) => stock.reserve(tx, 'mug', 'o-3', 1))).toBe(7);
    expect(orderIds(await stock.history('mug'))).toEqual(['received', 'o-1', 'o-3']);
  });

  it('reads its own appends in the transaction: two lines of one SKU in one order both count', async () => {
    const { outbox, stock } = stockOf({ kettle: 5 });
    const left = await outbox.transaction(async (tx) => {
      await stock.reserve(tx, 'kettle', 'o-1', 2);
      return stock.reserve(tx, 'kettle', 'o-1', 2);
    });
    expect(left).toBe(1);
    expect(await stock.availability()).toEqual({ kettle: 1 });
  });
});
