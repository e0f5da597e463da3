// A message whose dedupe claim is held by a consumer that died waits for the lease to run out,
// at the defaults a user gets, without spending its deliveries: it is applied once, never
// dead-lettered as EDA_IN_PROGRESS.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRetryPolicy, dedupeKey } from '../src/adapter.js';
import { IN_PROGRESS_POLL_MS } from '../src/consumer/idempotency-step.js';
import {
  type BusEvent,
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryTransport,
  defineCommand,
  defineEvent,
  type Envelope,
  InProgressError,
  on,
  UnavailableError,
} from '../src/index.js';
import { deferredDelay, dispositionForFailure } from '../src/retry-policy.js';
import { until } from './test-helpers.js';

const Paid = defineEvent<{ orderId: string }>({ type: 'order.paid', owner: 'payments' });
const Reserve = defineCommand<{ orderId: string }>({ type: 'stock.reserve', owner: 'inventory' });

afterEach(() => {
  vi.useRealTimers();
});

describe('a claim held by a dead consumer', () => {
  for (const kind of ['event', 'command'] as const) {
    it(`delays the ${kind} until the lease can have expired and applies it once, never dead-lettered (defaults)`, async () => {
      vi.useFakeTimers();
      const transport = createInMemoryTransport();
      const store = createInMemoryIdempotencyStore();
      const events: BusEvent[] = [];
      const applied: number[] = [];
      const consumer = createBus({
        service: 'inventory',
        transport,
        idempotency: { store }, // default leaseMs (60 s), default retry policy
        observers: [(e) => events.push(e)],
      });
      await consumer.subscribe({
        handlers:
          kind === 'event'
            ? [on(Paid, (_m, c) => void applied.push(c.attempt))]
            : [on(Reserve, (_m, c) => void applied.push(c.attempt))],
      });
      const id = 'message-held-by-the-dead';
      // The consumer that died mid-handler claimed the message with the default lease.
      const held = dedupeKey(
        'inventory',
        { id, source: kind === 'event' ? 'payments' : 'orders' } as Envelope,
        'message-id',
      );
      expect((await store.claim(held.key, { leaseMs: 60_000 })).status).toBe('claimed');
      if (kind === 'event')
        await createBus({ service: 'payments', transport }).publish(
          Paid,
          { orderId: 'o-1' },
          { id },
        );
      else
        await createBus({ service: 'orders', transport }).send(Reserve, { orderId: 'o-1' }, { id });
      // 15 s dead-lettered it before (1+2+4+8 s of retries); the lease holds it for 60 s.
      await vi.advanceTimersByTimeAsync(59_000);
      expect(applied, 'applied while the dead consumer still holds the claim').toEqual([]);
      expect(transport.broker.deadLetters('inventory'), 'dead letters').toHaveLength(0);
      await vi.advanceTimersByTimeAsync(15_000); // lease end plus the 20% jitter
      expect(applied, 'attempt of each application').toEqual([1]);
      expect(transport.broker.deadLetters('inventory'), 'dead letters').toHaveLength(0);
      const retries = events.filter((e) => e.kind === 'retry');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries.every((e) => e.kind === 'retry' && e.deferred && e.attempt === 1)).toBe(true);
      await consumer.close();
      await transport.close();
      transport.broker.close();
    });
  }
});

describe('the retry policy and an in-progress claim', () => {
  it('defers it by its retryAfterMs whatever the attempt, and never dead-letters it', () => {
    const policy = createRetryPolicy({ maxDeliveries: 2 });
    const error = new InProgressError('held elsewhere', { retryAfterMs: 1234 });
    expect(deferredDelay(error)).toBe(1234);
    for (const attempt of [1, 2, 50]) {
      expect(dispositionForFailure(policy, error, attempt, 'sub')).toEqual({
        type: 'retry',
        delayMs: 1234,
        reason: 'InProgressError: held elsewhere',
        deferred: true,
      });
    }
  });

  it('treats other failures (and an in-progress error without a delay) by the ordinary policy', () => {
    const policy = createRetryPolicy({ maxDeliveries: 2, jitter: 0, initialDelayMs: 10 });
    expect(deferredDelay(new Error('boom'))).toBeUndefined();
    expect(deferredDelay(new InProgressError('no delay'))).toBeUndefined();
    expect(deferredDelay(new UnavailableError('a handler dependency'))).toBeUndefined();
    expect(deferredDelay(new UnavailableError('the store', { retryAfterMs: 900 }))).toBe(900);
    expect(dispositionForFailure(policy, new Error('boom'), 1, 'sub')).toEqual({
      type: 'retry',
      delayMs: 10,
      reason: 'Error: boom',
    });
    expect(dispositionForFailure(policy, new InProgressError('no delay'), 2, 'sub').type).toBe(
      'dead-letter',
    );
  });

  it('claims once per delivery: no immediate retries while another consumer holds the claim', async () => {
    const transport = createInMemoryTransport();
    const inner = createInMemoryIdempotencyStore();
    let claims = 0;
    const store = {
      ...inner,
      claim: (key: string, options: { leaseMs: number; version?: number }) => {
        claims += 1;
        return inner.claim(key, options);
      },
    };
    const events: BusEvent[] = [];
    await createBus({
      service: 'inventory',
      transport,
      idempotency: { store },
      retry: { immediateRetries: 2 },
      observers: [(e) => events.push(e)],
    }).subscribe({ handlers: [on(Paid, () => undefined)] });
    const { key } = dedupeKey(
      'inventory',
      { id: 'held', source: 'payments' } as Envelope,
      'message-id',
    );
    await inner.claim(key, { leaseMs: 60_000 });
    await createBus({ service: 'payments', transport }).publish(
      Paid,
      { orderId: 'o-1' },
      { id: 'held' },
    );
    await until(() => events.some((e) => e.kind === 'retry'));
    const retry = events.find((e) => e.kind === 'retry');
    expect(retry).toMatchObject({ kind: 'retry', deferred: true, attempt: 1 });
    // It looks again after IN_PROGRESS_POLL_MS (plus jitter), not after the holder's 60 s lease.
    const delayMs = retry?.kind === 'retry' ? retry.delayMs : -1;
    expect(delayMs).toBeGreaterThanOrEqual(IN_PROGRESS_POLL_MS);
    expect(delayMs).toBeLessThanOrEqual(IN_PROGRESS_POLL_MS * 1.2);
    expect(claims, 'claims made by the one delivery').toBe(1);
    await transport.close();
    transport.broker.close();
  });
});
