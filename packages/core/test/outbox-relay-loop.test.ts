// The relay's loop around the store: what it asks for (batch size, lease), the backoff of a
// refused record, retention, stop(), option checks and a failing notification channel.
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createBus,
  createInMemoryOutboxStore,
  createInMemoryTransport,
  createOutboxRelay,
  defineCommand,
  defineEvent,
  type InMemoryOutboxStore,
  type OutboxStore,
  type Transport,
} from '../src/index.js';
import { until } from './test-helpers.js';

const OrderPlaced = defineEvent<{ orderId: string }>({ type: 'order.placed', owner: 'orders' });
const ShipOrder = defineCommand<{ orderId: string }>({ type: 'ship.order', owner: 'shipping' });

async function writeEvents(
  store: InMemoryOutboxStore,
  count: number,
  key = (i: number) => `k-${i}`,
) {
  const bus = createBus({ service: 'orders', transport: createInMemoryTransport(), outbox: store });
  await store.transaction(async (transaction) => {
    for (let i = 0; i < count; i++)
      await bus.publish(OrderPlaced, { orderId: `o-${i}` }, { transaction, partitionKey: key(i) });
  });
}

/** Wraps a store and records every call the relay makes. */
function spied(store: OutboxStore<never>) {
  const calls: { method: string; args: unknown[] }[] = [];
  const wrapped: OutboxStore<never> = {
    capabilities: store.capabilities,
    add: (...args) => store.add(...args),
    claim: (options) => {
      calls.push({ method: 'claim', args: [options] });
      return store.claim(options);
    },
    complete: (records) => {
      calls.push({ method: 'complete', args: [records.map((r) => r.recordId)] });
      return store.complete(records);
    },
    fail: (records, failure, options) => {
      calls.push({ method: 'fail', args: [records.map((r) => r.recordId), failure, options] });
      return store.fail(records, failure, options);
    },
    purge: (options) => {
      calls.push({ method: 'purge', args: [options] });
      return store.purge(options);
    },
  };
  return { store: wrapped, calls };
}

const refusing = (): Transport => ({
  ...createInMemoryTransport(),
  name: 'refusing',
  publish: async () => {
    throw new Error('refused');
  },
  send: async () => {
    throw new Error('refused');
  },
});

describe('outbox relay loop', () => {
  it('claims batches of the default size 100 with the default lease of 30 s', async () => {
    const memory = createInMemoryOutboxStore();
    await writeEvents(memory, 150);
    const { store, calls } = spied(memory as unknown as OutboxStore<never>);
    const relay = createOutboxRelay({ store, transport: createInMemoryTransport() });
    expect(await relay.drain()).toBe(150);
    const claims = calls.filter((c) => c.method === 'claim').map((c) => c.args[0]);
    expect(claims[0]).toEqual({ limit: 100, leaseMs: 30_000 });
    const completed = calls
      .filter((c) => c.method === 'complete')
      .map((c) => (c.args[0] as string[]).length);
    expect(completed).toEqual([100, 50]);
  });

  it('backs a refused record off initialBackoffMs * 2^attempts, capped at maxBackoffMs', async () => {
    const memory = createInMemoryOutboxStore();
    await writeEvents(memory, 1);
    const { store, calls } = spied(memory as unknown as OutboxStore<never>);
    const relay = createOutboxRelay({
      store,
      transport: refusing(),
      initialBackoffMs: 10,
      maxBackoffMs: 35,
      maxAttempts: 4,
    });
    for (let attempt = 0; attempt < 4; attempt++) {
      await expect(relay.drain()).rejects.toThrow(/Outbox relay drain stopped/);
      memory.rows()[0]!.availableAt = 0;
    }
    const waits = calls
      .filter((c) => c.method === 'fail')
      .map((c) => (c.args[1] as { retryAfterMs: number }).retryAfterMs);
    expect(waits).toEqual([10, 20, 35, 35]);
    expect(memory.rows()[0]).toMatchObject({ status: 'dead', attempts: 4 });
  });

  it('sends commands with send() and isolates a refused command like an event', async () => {
    const store = createInMemoryOutboxStore();
    const bus = createBus({
      service: 'shipping',
      transport: createInMemoryTransport(),
      outbox: store,
    });
    await store.transaction(async (transaction) => {
      for (const orderId of ['c-1', 'bad', 'c-2'])
        await bus.send(ShipOrder, { orderId }, { transaction, partitionKey: orderId });
    });
    const sent: string[] = [];
    const transport: Transport = {
      ...createInMemoryTransport(),
      name: 'commands',
      publish: async () => {
        throw new Error('events are not expected here');
      },
      send: async (messages) => {
        const ids = messages.map(
          (m) => JSON.parse(new TextDecoder().decode(m.body)).orderId as string,
        );
        if (ids.includes('bad')) throw new Error('no owner for this queue');
        sent.push(...ids);
      },
    };
    expect(await createOutboxRelay({ store, transport }).drain()).toBe(2);
    expect(sent).toEqual(['c-1', 'c-2']);
  });

  it('purges with the default retention (1 h, batches of 1000), again while a batch comes back full', async () => {
    const memory = createInMemoryOutboxStore();
    const { store, calls } = spied(memory as unknown as OutboxStore<never>);
    let full = 2;
    const counting: OutboxStore<never> = {
      ...store,
      purge: async (options) => {
        await store.purge(options);
        return full-- > 0 ? options.limit : 0;
      },
    };
    const relay = createOutboxRelay({
      store: counting,
      transport: createInMemoryTransport(),
      pollIntervalMs: 5,
    });
    relay.start();
    await until(() => calls.filter((c) => c.method === 'purge').length >= 3);
    await relay.stop();
    const purges = calls.filter((c) => c.method === 'purge').map((c) => c.args[0]);
    expect(purges.slice(0, 3)).toEqual(Array(3).fill({ olderThanMs: 3_600_000, limit: 1000 }));
    expect(purges, 'no further purge before everyMs (60 s) passed').toHaveLength(3);
  });

  it('stop() ends the loop: no claim after it resolves; start() twice runs one loop', async () => {
    const memory = createInMemoryOutboxStore();
    let claims = 0;
    let inFlight = 0;
    let mostInFlight = 0;
    // Without waitForChange: the loop polls, so it claims again every pollIntervalMs.
    const { waitForChange: _notifications, ...polled } = memory as unknown as OutboxStore<never>;
    const slowClaims: OutboxStore<never> = {
      ...polled,
      claim: async (options) => {
        claims += 1;
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 3));
        inFlight -= 1;
        return memory.claim(options);
      },
    };
    const relay = createOutboxRelay({
      store: slowClaims,
      transport: createInMemoryTransport(),
      pollIntervalMs: 1,
      purge: false,
    });
    relay.start();
    relay.start();
    await until(() => claims >= 6);
    await relay.stop();
    const claimsAtStop = claims;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(claims, 'claims after stop()').toBe(claimsAtStop);
    expect(mostInFlight, 'claims running at once (two loops would overlap)').toBe(1);
    await relay.stop(); // a second stop is harmless
  });

  it('a failing notification channel is reported and the relay falls back to polling', async () => {
    const memory = createInMemoryOutboxStore();
    const errors: unknown[] = [];
    const failingWait: OutboxStore<never> = {
      ...(memory as unknown as OutboxStore<never>),
      claim: (options) => memory.claim(options),
      waitForChange: async () => {
        throw new Error('LISTEN connection lost');
      },
    };
    const published: unknown[] = [];
    const transport: Transport = {
      ...createInMemoryTransport(),
      publish: async (messages) => void published.push(...messages),
    };
    const relay = createOutboxRelay({
      store: failingWait,
      transport,
      pollIntervalMs: 5,
      purge: false,
      onError: (e) => errors.push(e),
    });
    relay.start();
    await writeEvents(memory, 1);
    await until(() => published.length === 1);
    await relay.stop();
    expect(String(errors[0])).toMatch(/LISTEN connection lost/);
  });

  it.each([
    'batchSize',
    'leaseMs',
    'pollIntervalMs',
    'maxAttempts',
    'initialBackoffMs',
    'maxBackoffMs',
  ])('refuses %s = 0 with a ConfigurationError naming it', (option) => {
    expect(() =>
      createOutboxRelay({
        store: createInMemoryOutboxStore() as unknown as OutboxStore<never>,
        transport: createInMemoryTransport(),
        [option]: 0,
      }),
    ).toThrow(new RegExp(`${option} is 0`));
    expect(() =>
      createOutboxRelay({
        store: createInMemoryOutboxStore() as unknown as OutboxStore<never>,
        transport: createInMemoryTransport(),
        [option]: Number.NaN,
      }),
    ).toThrow(ConfigurationError);
  });
});
