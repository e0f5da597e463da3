// What a handler publishes or sends: held back until it succeeded, flushed in one transport call
// per kind, with ids derived from the handled message (the same on a redelivery), and sent
// directly once the handler has settled.
import { describe, expect, it } from 'vitest';
import { handlerEmitId } from '../src/handler-emit-id.js';
import {
  type BusEvent,
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  defineCommand,
  defineEvent,
  type OutgoingMessage,
  on,
  type Transport,
} from '../src/index.js';
import { until } from './test-helpers.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const Charged = defineEvent<{ orderId: string; line: number }>({
  type: 'payment.charged',
  owner: 'billing',
});
const Ship = defineCommand<{ orderId: string }>({ type: 'ship', owner: 'shipping' });

/** Records every transport call; `failAt` rejects the n-th message (0-based, over all calls) once, after storing the ones before it in that call. */
function recordingTransport(inner: Transport, failAt?: number) {
  const calls: Array<{ kind: 'publish' | 'send'; ids: string[] }> = [];
  let seen = 0;
  let failed = false;
  const forward = async (kind: 'publish' | 'send', messages: readonly OutgoingMessage[]) => {
    calls.push({ kind, ids: messages.map((m) => m.attributes.id) });
    for (const message of messages) {
      if (!failed && seen === failAt) {
        failed = true;
        throw new Error('broker refused the rest of the batch');
      }
      seen += 1;
      await (kind === 'publish' ? inner.publish([message]) : inner.send([message]));
    }
  };
  const transport: Transport = {
    ...inner,
    publish: (messages) => forward('publish', messages),
    send: (messages) => forward('send', messages),
  };
  return { transport, calls };
}

describe('what a handler emits', () => {
  it('a publish made after the handler returned goes out, not into the drained hold-back list', async () => {
    const transport = createInMemoryTransport();
    const billing = createBus({ service: 'billing', transport });
    const late: string[] = [];
    let lateEmitted!: Promise<void>;
    await billing.subscribe({
      handlers: [
        on(OrderPlaced, (m) => {
          // Work the handler starts but does not await keeps its async context.
          lateEmitted = new Promise<void>((resolve, reject) => {
            setTimeout(() => {
              billing.publish(Charged, { orderId: m.data.orderId, line: 1 }).then(resolve, reject);
            }, 20);
          });
        }),
      ],
    });
    await createBus({ service: 'audit', transport }).subscribe({
      handlers: [on(Charged, (m) => void late.push(m.data.orderId))],
    });
    await createBus({ service: 'orders', transport }).publish(OrderPlaced, { orderId: 'o-1' });
    await until(() => lateEmitted !== undefined);
    await lateEmitted;
    await until(() => late.length === 1);
    expect(late).toEqual(['o-1']);
  });

  it('flushes held-back messages in one transport call per kind, in call order, with ids derived from the handled message', async () => {
    const inner = createInMemoryTransport();
    const { transport, calls } = recordingTransport(inner);
    const billing = createBus({ service: 'billing', transport });
    await billing.subscribe({
      handlers: [
        on(OrderPlaced, async (m) => {
          await Promise.all([
            billing.publish(Charged, { orderId: m.data.orderId, line: 0 }),
            billing.send(Ship, { orderId: m.data.orderId }),
            billing.publish(Charged, { orderId: m.data.orderId, line: 2 }),
          ]);
        }),
      ],
    });
    await createBus({ service: 'orders', transport: inner }).publish(
      OrderPlaced,
      { orderId: 'o-1' },
      { id: 'placed-1' },
    );
    await until(() => calls.length === 2);
    const idAt = (position: number) => handlerEmitId('orders', 'placed-1', 'billing', position);
    expect(calls).toEqual([
      { kind: 'publish', ids: [idAt(0), idAt(2)] },
      { kind: 'send', ids: [idAt(1)] },
    ]);
    expect(idAt(0)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(new Set([0, 1, 2].map(idAt)).size).toBe(3);
  });

  it('a flush that fails part-way is retried with the same ids, so downstream dedupe applies each message once', async () => {
    const inner = createInMemoryTransport();
    // The second held-back message is refused once, after the first one was stored.
    const { transport, calls } = recordingTransport(inner, 1);
    const billing = createBus({
      service: 'billing',
      transport,
      idempotency: { store: createInMemoryIdempotencyStore() },
      retry: { initialDelayMs: 5 },
    });
    let handlerRuns = 0;
    await billing.subscribe({
      handlers: [
        on(OrderPlaced, async (m) => {
          handlerRuns += 1;
          await billing.publish(Charged, { orderId: m.data.orderId, line: 0 });
          await billing.publish(Charged, { orderId: m.data.orderId, line: 1 });
        }),
      ],
    });
    const applied: string[] = [];
    const ledgerEvents: BusEvent[] = [];
    await createBus({
      service: 'ledger',
      transport: inner,
      idempotency: { store: createInMemoryIdempotencyStore() },
      observers: [(e) => ledgerEvents.push(e)],
    }).subscribe({
      handlers: [on(Charged, (m) => void applied.push(`${m.data.orderId}#${m.data.line}`))],
    });
    await createBus({ service: 'orders', transport: inner }).publish(OrderPlaced, {
      orderId: 'o-1',
    });
    const consumed = () => ledgerEvents.filter((e) => e.kind === 'consumed');
    await until(() => consumed().length === 3);
    expect(handlerRuns, 'handler runs (the failed flush is retried)').toBe(2);
    const wireIds = calls.flatMap((c) => c.ids);
    expect(wireIds, 'ids of the first and the retried flush').toHaveLength(4);
    expect(wireIds.slice(0, 2), 'the retried flush re-sends the same ids').toEqual(
      wireIds.slice(2),
    );
    expect(applied.sort(), 'each message applied once downstream').toEqual(['o-1#0', 'o-1#1']);
    expect(
      consumed()
        .map((e) => e.kind === 'consumed' && e.outcome)
        .sort(),
      'downstream outcomes (the re-sent first message is a duplicate)',
    ).toEqual(['duplicate', 'handled', 'handled']);
  });

  it('a handler re-run after its transaction committed but failed to acknowledge writes the same ids to the outbox', async () => {
    const transport = createInMemoryTransport();
    const outbox = createInMemoryOutboxStore();
    const billing = createBus({
      service: 'billing',
      transport,
      outbox,
      idempotency: { store: createInMemoryIdempotencyStore() },
      retry: { initialDelayMs: 5 },
    });
    let handlerRuns = 0;
    await billing.subscribe({
      handlers: [
        on(OrderPlaced, async (m) => {
          handlerRuns += 1;
          await outbox.transaction(async (transaction) => {
            await billing.publish(Charged, { orderId: m.data.orderId, line: 0 }, { transaction });
            await billing.send(Ship, { orderId: m.data.orderId }, { transaction });
          });
          // The database committed, then the connection was cut before the client heard it:
          // the handler fails although its writes are there, and the delivery is retried.
          if (handlerRuns === 1) throw new Error('Connection terminated after COMMIT');
        }),
      ],
    });
    await createBus({ service: 'orders', transport }).publish(
      OrderPlaced,
      { orderId: 'o-1' },
      { id: 'placed-1' },
    );
    await until(() => outbox.rows().length === 4);
    expect(handlerRuns).toBe(2);
    const idAt = (position: number) => handlerEmitId('orders', 'placed-1', 'billing', position);
    expect(
      outbox.rows().map((r) => r.message.attributes.id),
      'each run writes the same two ids (downstream message-id dedupe then applies them once)',
    ).toEqual([idAt(0), idAt(1), idAt(0), idAt(1)]);
  });
});
