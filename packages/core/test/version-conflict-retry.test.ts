// A handler that loses the race for an event stream (StreamVersionConflictError) runs again on
// the new version, however often it loses, without spending its deliveries: busy streams with
// many writers must never dead-letter a message. Defaults of the retry policy, as a user gets.
import { describe, expect, it } from 'vitest';
import { createRetryPolicy } from '../src/adapter.js';
import {
  type BusEvent,
  createBus,
  createInMemoryTransport,
  defineEvent,
  on,
  StreamVersionConflictError,
} from '../src/index.js';
import { deferredDelay, dispositionForFailure } from '../src/retry-policy.js';
import { until } from './test-helpers.js';

const Paid = defineEvent<{ orderId: string }>({ type: 'order.paid', owner: 'payments' });

describe('a version conflict thrown by a handler', () => {
  it('is deferred by its retryAfterMs at every attempt, never dead-lettered by the policy', () => {
    const policy = createRetryPolicy({ maxDeliveries: 2 });
    const error = new StreamVersionConflictError('stock-mug', 4, 5);
    expect(deferredDelay(error)).toBe(error.retryAfterMs);
    for (const attempt of [1, 2, 50])
      expect(dispositionForFailure(policy, error, attempt, 'inventory')).toMatchObject({
        type: 'retry',
        deferred: true,
        delayMs: error.retryAfterMs,
      });
  });

  it('lets the handler run again until it wins, more often than maxDeliveries, and applies it once', async () => {
    const transport = createInMemoryTransport();
    const events: BusEvent[] = [];
    let losses = 0;
    const applied: string[] = [];
    const consumer = createBus({
      service: 'inventory',
      transport,
      observers: [(e) => events.push(e)],
    }); // the default retry policy: 5 deliveries
    await consumer.subscribe({
      handlers: [
        on(Paid, ({ data }) => {
          // Another writer appended first eight times in a row.
          if (losses < 8) {
            losses++;
            throw new StreamVersionConflictError('stock-mug', losses, losses + 1);
          }
          applied.push(data.orderId);
        }),
      ],
    });
    await createBus({ service: 'payments', transport }).publish(Paid, { orderId: 'o-1' });
    await until(() => applied.length === 1);
    expect(losses).toBe(8);
    expect(applied).toEqual(['o-1']);
    expect(transport.broker.deadLetters('inventory')).toHaveLength(0);
    const retries = events.filter((e) => e.kind === 'retry');
    expect(retries).toHaveLength(8);
    expect(retries.every((e) => e.kind === 'retry' && e.deferred)).toBe(true);
    await consumer.close();
    await transport.close();
    transport.broker.close();
  });
});
