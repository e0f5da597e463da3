import { describe, expect, it } from 'vitest';
import {
  type BusEvent,
  ConfigurationError,
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryTransport,
  defineCommand,
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

async function run(
  store: IdempotencyStore,
  onUnavailable: 'fail-open' | 'fail-closed',
  events: BusEvent[] = [],
) {
  const transport = createInMemoryTransport();
  const handled: number[] = [];
  await createBus({
    service: 'sub',
    transport,
    observers: [(e) => void events.push(e)],
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

  it('fail-closed holds the message through an outage longer than its delivery budget, never runs it without dedupe, never dead-letters it', async () => {
    // Unavailable for 3 claims with maxDeliveries 2: counted as attempts, it would be dead.
    const inner = createInMemoryIdempotencyStore();
    let outage = 3;
    const store: IdempotencyStore = {
      ...inner,
      claim: (key, options) =>
        outage-- > 0
          ? Promise.reject(new UnavailableError('redis down'))
          : inner.claim(key, options),
    };
    const events: BusEvent[] = [];
    const { transport, handled } = await run(store, 'fail-closed', events);
    await until(() => handled.length === 1, 10_000);
    expect(transport.broker.deadLetters('sub')).toEqual([]);
    const retries = events.filter((e) => e.kind === 'retry');
    expect(retries).toHaveLength(3);
    expect(retries.every((e) => e.kind === 'retry' && e.deferred && e.attempt === 1)).toBe(true);
    expect(handled).toEqual([1]);
  }, 15_000);

  it('counts an UnavailableError the handler throws as an attempt, and dead-letters it at maxDeliveries', async () => {
    const transport = createInMemoryTransport();
    await createBus({
      service: 'sub',
      transport,
      retry: { immediateRetries: 0, maxDeliveries: 2, initialDelayMs: 1 },
      idempotency: { store: createInMemoryIdempotencyStore() },
    }).subscribe({
      handlers: [
        on(Tick, () => {
          throw new UnavailableError('the payment API is down');
        }),
      ],
    });
    await createBus({ service: 'clock', transport }).publish(Tick, { n: 1 });
    await until(() => transport.broker.deadLetters('sub').length === 1);
    expect(readDeadLetterReason(transport.broker.deadLetters('sub')[0]!.headers)).toMatchObject({
      code: 'EDA_UNAVAILABLE',
      attempts: 2,
    });
  });

  it('fail-open does not open for a store that answers with an error', async () => {
    const { transport, handled } = await run(
      failingStore(new ConfigurationError('WRONGTYPE')),
      'fail-open',
    );
    await until(() => transport.broker.deadLetters('sub').length === 1);
    expect(handled).toEqual([]);
  });

  it('records a completion whose lease had already expired when nobody took over, so a later duplicate is skipped', async () => {
    const transport = createInMemoryTransport();
    const events: BusEvent[] = [];
    let calls = 0;
    await createBus({
      service: 'slow',
      transport,
      observers: [(e) => events.push(e)],
      idempotency: { store: createInMemoryIdempotencyStore(), leaseMs: 5 },
    }).subscribe({
      handlers: [
        on(Tick, async () => {
          calls += 1;
          await new Promise((resolve) => setTimeout(resolve, 30));
        }),
      ],
    });
    const clock = createBus({ service: 'clock', transport });
    await clock.publish(Tick, { n: 1 }, { id: 'tick-1', partitionKey: 'k' });
    const outcomes = () => events.flatMap((e) => (e.kind === 'consumed' ? [e.outcome] : []));
    await until(() => outcomes().length === 1);
    await clock.publish(Tick, { n: 1 }, { id: 'tick-1', partitionKey: 'k' }); // a later duplicate
    await until(() => outcomes().length === 2);
    expect(outcomes()).toEqual(['handled', 'duplicate']);
    expect(calls).toBe(1);
    expect(events.filter((e) => e.kind === 'lease-lost')).toEqual([]);
  });

  it('reports a completion whose lease was taken over, and a later duplicate is skipped', async () => {
    const transport = createInMemoryTransport();
    const store = createInMemoryIdempotencyStore();
    const Work = defineCommand<{ n: number }>({ type: 'work', owner: 'worker' });
    const events: BusEvent[] = [];
    let calls = 0;
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    for (let member = 0; member < 2; member++) {
      await createBus({
        service: 'worker',
        transport,
        observers: [(e) => events.push(e)],
        idempotency: { store, leaseMs: 20 },
      }).subscribe({
        handlers: [
          on(Work, async () => {
            calls += 1;
            if (calls === 1) await firstHeld; // outlives its lease
          }),
        ],
      });
    }
    const sender = createBus({ service: 'boss', transport });
    await sender.send(Work, { n: 1 }, { id: 'work-1' });
    await until(() => calls === 1);
    await new Promise((resolve) => setTimeout(resolve, 40)); // the first lease expires
    await sender.send(Work, { n: 1 }, { id: 'work-1' }); // redelivered copy: takes the key over
    await until(() => calls === 2);
    const outcomes = () => events.flatMap((e) => (e.kind === 'consumed' ? [e.outcome] : []));
    await until(() => outcomes().length === 1);
    releaseFirst();
    await until(() => events.some((e) => e.kind === 'lease-lost'));
    expect(events.find((e) => e.kind === 'lease-lost')).toMatchObject({
      service: 'worker',
      subscription: 'worker',
      message: { type: 'work', id: 'work-1' },
    });
    await sender.send(Work, { n: 1 }, { id: 'work-1' }); // a later duplicate
    await until(() => outcomes().length === 3);
    expect(outcomes()).toEqual(['handled', 'handled', 'duplicate']);
    expect(calls).toBe(2);
  });
});
