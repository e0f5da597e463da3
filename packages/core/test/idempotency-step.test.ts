import { describe, expect, it } from 'vitest';
import {
  type BusEvent,
  ConfigurationError,
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryTransport,
  defineEvent,
  type IdempotencyStore,
  on,
  readDeadLetterReason,
  UnavailableError,
} from '../src/index.js';
import { until } from './test-helpers.js';

const Tick = defineEvent<{ n: number }>({ type: 'tick', owner: 'clock' });

function failingStore(error: Error): IdempotencyStore {
  const inner = createInMemoryIdempotencyStore();
  return { ...inner, claim: () => Promise.reject(error) };
}

async function run(store: IdempotencyStore, onUnavailable: 'fail-open' | 'fail-closed') {
  const transport = createInMemoryTransport();
  const handled: number[] = [];
  await createBus({
    service: 'sub',
    transport,
    retry: { immediateRetries: 0, maxDeliveries: 2, initialDelayMs: 1 },
    idempotency: { store, onUnavailable },
  }).subscribe({
    handlers: [on(Tick, ({ data }) => void handled.push(data.n))],
  });
  await createBus({ service: 'clock', transport }).publish(Tick, { n: 1 });
  return { transport, handled };
}

describe('idempotency step failure policy', () => {
  it('fail-open runs the handler when the store is unavailable', async () => {
    const { handled } = await run(failingStore(new UnavailableError('redis down')), 'fail-open');
    await until(() => handled.length === 1);
  });

  it('fail-closed retries, then dead-letters, and never runs the handler without dedupe', async () => {
    const { transport, handled } = await run(
      failingStore(new UnavailableError('redis down')),
      'fail-closed',
    );
    await until(() => transport.broker.deadLetters('sub').length === 1);
    expect(handled).toEqual([]);
    expect(readDeadLetterReason(transport.broker.deadLetters('sub')[0]!.headers)?.code).toBe(
      'EDA_UNAVAILABLE',
    );
  });

  it('fail-open does not open for a store that answers with an error', async () => {
    const { transport, handled } = await run(
      failingStore(new ConfigurationError('WRONGTYPE')),
      'fail-open',
    );
    await until(() => transport.broker.deadLetters('sub').length === 1);
    expect(handled).toEqual([]);
  });

  it('reports a completion whose lease had already expired', async () => {
    const transport = createInMemoryTransport();
    const events: BusEvent[] = [];
    await createBus({
      service: 'slow',
      transport,
      observers: [(e) => events.push(e)],
      idempotency: { store: createInMemoryIdempotencyStore(), leaseMs: 5 },
    }).subscribe({
      handlers: [on(Tick, () => new Promise((resolve) => setTimeout(resolve, 30)))],
    });
    await createBus({ service: 'clock', transport }).publish(Tick, { n: 1 });
    await until(() => events.some((e) => e.kind === 'lease-lost'));
    expect(events.find((e) => e.kind === 'lease-lost')).toMatchObject({
      service: 'slow',
      subscription: 'slow',
      message: { type: 'tick' },
    });
  });
});
