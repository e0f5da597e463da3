// The code of docs/testing.md, run as it is printed there: docs-snippets.test.ts checks that
// every TypeScript block of the guide appears verbatim in this file.

// #region setup
import {
  type BusEvent,
  createBus,
  createInMemoryTransport,
  defineCommand,
  defineEvent,
  type InMemoryTransport,
  on,
  readDeadLetterReason,
} from '@eda/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The contract, as the owning services define it.
const OrderPlaced = defineEvent<{ orderId: string; total: number }>({
  type: 'order.placed',
  owner: 'orders',
});
const ChargeCard = defineCommand<{ orderId: string; amount: number }>({
  type: 'charge.card',
  owner: 'payments',
});

// The code under test: billing charges the card of a placed order, then issues its invoice.
function billingHandlers(
  bus: ReturnType<typeof createBus>,
  issueInvoice: (orderId: string, total: number) => void,
) {
  return [
    on(OrderPlaced, async ({ data }) => {
      await bus.send(ChargeCard, { orderId: data.orderId, amount: data.total });
      issueInvoice(data.orderId, data.total); // may throw: then the send above never leaves
    }),
  ];
}

/** Resolves with the first bus event of `kind` that `match` accepts (the bus reports as it works). */
function nextEvent<K extends BusEvent['kind']>(
  events: BusEvent[],
  kind: K,
  match: (event: Extract<BusEvent, { kind: K }>) => boolean = () => true,
): Promise<Extract<BusEvent, { kind: K }>> {
  const isWanted = (e: BusEvent): e is Extract<BusEvent, { kind: K }> =>
    e.kind === kind && match(e as Extract<BusEvent, { kind: K }>);
  return new Promise((resolve) => {
    const poll = () => {
      const found = events.find(isWanted);
      if (found) resolve(found);
      else setTimeout(poll, 5);
    };
    poll();
  });
}
// #endregion setup

describe('billing handlers', () => {
  // #region each
  let transport: InMemoryTransport;
  let events: BusEvent[];
  let charges: { orderId: string; amount: number }[];

  beforeEach(async () => {
    transport = createInMemoryTransport();
    events = [];
    charges = [];
    const observers = [(event: BusEvent) => events.push(event)];
    // Short delays between deliveries keep the test fast; the number of deliveries is the default.
    const retry = { initialDelayMs: 10, maxDelayMs: 10 };
    const billing = createBus({ service: 'billing', transport, observers, retry });
    const payments = createBus({ service: 'payments', transport, observers });
    const issueInvoice = (orderId: string, total: number) => {
      if (total <= 0) throw new Error(`order ${orderId} has no amount to invoice`);
    };
    await billing.subscribe({ handlers: billingHandlers(billing, issueInvoice) });
    await payments.subscribe({
      handlers: [on(ChargeCard, ({ data }) => void charges.push(data))],
    });
  });

  afterEach(() => transport.close());
  // #endregion each

  // #region handled
  it('charges the card of a placed order, in the same correlation', async () => {
    const orders = createBus({ service: 'orders', transport });
    await orders.publish(OrderPlaced, { orderId: 'o-1', total: 4990 });

    const charge = await nextEvent(events, 'consumed', (e) => e.message.type === ChargeCard.type);
    const order = await nextEvent(events, 'consumed', (e) => e.message.type === OrderPlaced.type);
    expect(charges).toEqual([{ orderId: 'o-1', amount: 4990 }]);
    // The command carries the order's correlation id and names the order as its cause.
    expect(charge.message).toMatchObject({
      correlationid: order.message.correlationid,
      causationid: order.message.id,
    });
  });
  // #endregion handled

  // #region dead-letter
  it('dead-letters an order it cannot invoice, and its charge is never sent', async () => {
    const orders = createBus({ service: 'orders', transport });
    await orders.publish(OrderPlaced, { orderId: 'o-2', total: 0 });

    await nextEvent(events, 'dead-lettered');
    const [deadLetter] = transport.broker.deadLetters('billing');
    expect(readDeadLetterReason(deadLetter!.headers)).toMatchObject({
      code: 'EDA_HANDLER',
      message: 'order o-2 has no amount to invoice',
      attempts: 5, // the default maxDeliveries
    });
    // A sentinel proves the negative: the next order's charge arrives, and it is the only one.
    await orders.publish(OrderPlaced, { orderId: 'o-3', total: 100 });
    await nextEvent(events, 'consumed', (e) => e.message.type === ChargeCard.type);
    expect(charges).toEqual([{ orderId: 'o-3', amount: 100 }]);
  });
  // #endregion dead-letter
});
