// Idempotency case through core's consumer pipeline: a failed handler's claim is released so the
// retry runs, and a duplicate delivery is skipped.
import { type BusEvent, createBus, createInMemoryTransport, defineEvent, on } from '@eda/core';
import { expect } from 'vitest';
import { createInbox } from '../inbox.js';
import type { IdempotencyCase } from './idempotency-setup.js';

/** First delivery throws, the retry succeeds, a duplicate is skipped: the side effect happens once. */
export const failedHandlerRetriedCase: IdempotencyCase = {
  name: 'consumer: a handler that fails is retried (its claim is released), and a duplicate is skipped; the side effect happens once',
  requires: [],
  async run(context) {
    const transport = createInMemoryTransport();
    context.defer(() => transport.close());
    const producerName = context.name('payments');
    const consumerName = context.name('inventory');
    const PaymentCompleted = defineEvent<{ orderId: string }>({
      type: context.name('contract.payment-completed'),
      owner: producerName,
    });
    const producer = createBus({ service: producerName, transport });
    const events = createInbox<BusEvent>();
    const consumer = createBus({
      service: consumerName,
      transport,
      // Long lease: only a release (not an expiry) lets the retry through in time.
      idempotency: { store: context.store, leaseMs: 60_000 },
      retry: { immediateRetries: 0, maxDeliveries: 3, initialDelayMs: 50, jitter: 0 },
      observers: [events.push],
    });
    context.defer(() => producer.close());
    context.defer(() => consumer.close());
    let calls = 0;
    const sideEffects: string[] = [];
    await consumer.subscribe({
      handlers: [
        on(PaymentCompleted, (message) => {
          calls += 1;
          if (calls === 1) throw new Error('database timeout');
          sideEffects.push(message.data.orderId);
        }),
      ],
    });
    await producer.publish(PaymentCompleted, { orderId: 'order-1' }, { id: 'payment-1' });
    const outcomes = () => events.items.flatMap((e) => (e.kind === 'consumed' ? [e.outcome] : []));
    await events.until(() => outcomes().includes('handled'), {
      idleMs: context.idleMs,
      description: () => `the retry to be handled (handler called ${calls} times)`,
    });
    await producer.publish(PaymentCompleted, { orderId: 'order-1' }, { id: 'payment-1' });
    await events.until(() => outcomes().includes('duplicate'), {
      idleMs: context.idleMs,
      description: 'the duplicate to be recognised',
    });
    expect(calls, 'handler calls').toBe(2);
    expect(sideEffects).toEqual(['order-1']);
    expect(events.items.filter((e) => e.kind === 'dead-lettered')).toEqual([]);
  },
};
