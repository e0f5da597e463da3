// The store inside core's consumer pipeline, over the in-memory transport and the real Redis:
// duplicates on the wire, competing consumers, failed handlers, the version guard, bad input
// and the fail-closed / fail-open policy while Redis is unreachable.
import {
  type BusEvent,
  createBus,
  createInMemoryBroker,
  createInMemoryTransport,
  defineCommand,
  defineEvent,
  type IdempotencyOptions,
  on,
  readDeadLetterReason,
} from '@eda/core';
import { cleanupServices, endpoints, useRedisPrefix } from '@eda/test-services';
import { waitFor } from '@eda/test-suite';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisIdempotencyStore, type RedisIdempotencyStore } from '../src/index.js';
import { closeClients, connect, eventually } from './support/clients.js';
import { startTcpProxy } from './support/tcp-proxy.js';

const ApplyCredit = defineCommand<{ account: string; n: number }>({
  type: 'ledger.apply-credit',
  owner: 'ledger',
});
const PriceChanged = defineEvent<{ sku: string; price: number }>({
  type: 'catalog.price-changed',
  owner: 'catalog',
});

afterEach(async () => {
  closeClients();
  await cleanupServices();
});

const fastRetry = { immediateRetries: 0, initialDelayMs: 20, maxDelayMs: 200, maxDeliveries: 50 };

describe('exactly-once side effects over duplicated deliveries', () => {
  it('applies each of 10,000 commands once when each arrives 2 or 3 times at 3 competing consumers', async () => {
    const { prefix } = await useRedisPrefix('e2e');
    const transport = createInMemoryTransport();
    const applied = new Map<string, number>();
    const stores: RedisIdempotencyStore[] = [];
    for (let i = 0; i < 3; i++) {
      // Each consumer is its own "instance": its own connection and store.
      const store = createRedisIdempotencyStore({ client: await connect(), keyPrefix: prefix });
      stores.push(store);
      // The default retry policy and idempotency options: what a user gets.
      const bus = createBus({ service: 'ledger', transport, idempotency: { store } });
      await bus.subscribe({
        concurrency: 32,
        // One consumer claims ahead of its handlers (core's prefetch): the same guarantees.
        ...(i === 1 ? { prefetch: 64 } : {}),
        handlers: [
          on(ApplyCredit, (message) => {
            applied.set(message.id, (applied.get(message.id) ?? 0) + 1);
          }),
        ],
      });
    }
    const sender = createBus({ service: 'bank', transport });
    const sends: { id: string; n: number }[] = [];
    for (let n = 0; n < 10_000; n++) {
      const id = `credit-${n}`;
      const copies = 2 + (n % 2);
      for (let c = 0; c < copies; c++) sends.push({ id, n });
    }
    sends.sort(() => Math.random() - 0.5); // duplicates arrive in any order, often at once
    // The in-memory transport hands messages over synchronously, so a send loop that never
    // yields would starve the consumers' event loop (Redis answers unread, timers late) for
    // seconds on a loaded machine, which no real producer in another process does.
    for (const [i, { id, n }] of sends.entries()) {
      await sender.send(ApplyCredit, { account: 'a', n }, { id });
      if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
    }
    const queue = transport.broker.queue('ledger.apply-credit');
    // Waits fail only after a stretch without progress (an applied command, a claim, a
    // completion), not after a fixed total, so a busy machine is slower but does not fail.
    const outcomes = () =>
      stores.reduce((sum, s) => {
        const x = s.stats();
        return sum + x.claimed + x.duplicates + x.inProgress + x.completed + x.failures;
      }, applied.size);
    // A dead letter can never be applied: fail at once, naming its reason.
    const allApplied = () => {
      const dead = transport.broker.deadLetters('ledger');
      if (dead.length > 0) {
        const reason = readDeadLetterReason(dead[0]!.headers);
        throw new Error(`${dead.length} dead-lettered, the first: ${JSON.stringify(reason)}`);
      }
      return applied.size === 10_000 && queue.depth === 0;
    };
    await waitFor(allApplied, {
      // More than core's default lease (60 s): a delivery may wait out a lease held by a claim
      // whose caller gave up on it, with nothing else happening meanwhile.
      idleMs: 90_000,
      progress: outcomes,
      description: () =>
        `10,000 applied commands (${applied.size}) and an empty queue (${queue.depth})`,
    });
    // Let every remaining duplicate settle before counting.
    const settled = () =>
      stores.reduce((sum, s) => sum + s.stats().claimed + s.stats().duplicates, 0);
    await waitFor(() => settled() >= sends.length, {
      idleMs: 90_000, // as above: a duplicate found in progress may wait a whole lease
      progress: outcomes,
      description: () => `${sends.length} settled deliveries (${settled()})`,
    });
    expect(applied.size).toBe(10_000);
    expect([...applied.values()].every((count) => count === 1)).toBe(true);
    const stats = stores.map((s) => s.stats());
    expect(stats.reduce((sum, s) => sum + s.completed, 0)).toBe(10_000);
    expect(stats.reduce((sum, s) => sum + s.claimed, 0)).toBe(10_000);
    expect(stats.reduce((sum, s) => sum + s.duplicates, 0)).toBe(sends.length - 10_000);
    // Batching: far fewer script calls than claims plus completions.
    const calls = stats.reduce((sum, s) => sum + s.scriptCalls, 0);
    const operations = stats.reduce(
      (sum, s) => sum + s.claimed + s.duplicates + s.inProgress + s.completed,
      0,
    );
    expect(calls).toBeLessThan(operations / 4);
    await transport.close();
  }, 900_000); // a cap only: the progress-based waits above decide

  it('runs a failed handler again on redelivery: the claim is released, never kept as done', async () => {
    const { prefix } = await useRedisPrefix('retry');
    const transport = createInMemoryTransport();
    const store = createRedisIdempotencyStore({ client: await connect(), keyPrefix: prefix });
    const bus = createBus({
      service: 'ledger',
      transport,
      idempotency: { store },
      retry: fastRetry,
    });
    const attempts: number[] = [];
    let applied = 0;
    await bus.subscribe({
      handlers: [
        on(ApplyCredit, (_message, context) => {
          attempts.push(context.attempt);
          if (context.attempt < 3) throw new Error('ledger database busy');
          applied += 1;
        }),
      ],
    });
    const sender = createBus({ service: 'bank', transport });
    await sender.send(ApplyCredit, { account: 'a', n: 1 }, { id: 'retried-1' });
    await eventually(() => (applied === 1 ? true : undefined));
    await sender.send(ApplyCredit, { account: 'a', n: 1 }, { id: 'retried-1' }); // a late duplicate
    await eventually(() => (store.stats().duplicates === 1 ? true : undefined));
    expect(attempts).toEqual([1, 2, 3]);
    expect(applied).toBe(1);
    expect(store.stats().released).toBe(2);
    await transport.close();
  });
});

describe('version guard through the bus', () => {
  it('applies newer entity versions only and reports older or equal ones as stale', async () => {
    const { prefix } = await useRedisPrefix('versions');
    const transport = createInMemoryTransport();
    const store = createRedisIdempotencyStore({ client: await connect(), keyPrefix: prefix });
    const events: BusEvent[] = [];
    const shop = createBus({
      service: 'shop',
      transport,
      idempotency: { store },
      observers: [(event) => void events.push(event)],
    });
    const prices: number[] = [];
    await shop.subscribe({
      handlers: [
        on(PriceChanged, (m) => void prices.push(m.data.price), { dedupe: 'entity-version' }),
      ],
    });
    const catalog = createBus({ service: 'catalog', transport });
    const publish = (version: number, price: number) =>
      catalog.publish(
        PriceChanged,
        { sku: 'sku-1', price },
        { subject: 'sku-1', partitionKey: 'sku-1', version },
      );
    await publish(1, 10);
    await publish(3, 30);
    await publish(2, 20); // arrives late: older than the applied 3
    await publish(3, 31); // same version again
    await publish(4, 40);
    await eventually(() =>
      events.filter((e) => e.kind === 'consumed').length === 5 ? true : undefined,
    );
    expect(prices).toEqual([10, 30, 40]);
    const outcomes = events.flatMap((e) => (e.kind === 'consumed' ? [e.outcome] : []));
    expect(outcomes).toEqual(['handled', 'handled', 'stale', 'stale', 'handled']);
    expect(store.stats().stale).toBe(2);
    await transport.close();
  });

  it('dead-letters an entity-version message without a version, with its reason, and keeps consuming', async () => {
    const { prefix } = await useRedisPrefix('bad');
    const transport = createInMemoryTransport();
    const store = createRedisIdempotencyStore({ client: await connect(), keyPrefix: prefix });
    const shop = createBus({ service: 'shop', transport, idempotency: { store } });
    const prices: number[] = [];
    await shop.subscribe({
      handlers: [
        on(PriceChanged, (m) => void prices.push(m.data.price), { dedupe: 'entity-version' }),
      ],
    });
    const catalog = createBus({ service: 'catalog', transport });
    await catalog.publish(
      PriceChanged,
      { sku: 'sku-2', price: 1 },
      { subject: 'sku-2', partitionKey: 'k' },
    );
    await catalog.publish(
      PriceChanged,
      { sku: 'sku-2', price: 2 },
      { subject: 'sku-2', partitionKey: 'k', version: 1 },
    );
    await eventually(() => (prices.length === 1 ? true : undefined));
    expect(prices).toEqual([2]);
    const dead = transport.broker.deadLetters('shop');
    expect(dead).toHaveLength(1);
    expect(readDeadLetterReason(dead[0]!.headers)).toMatchObject({ code: 'EDA_DECODE' });
    expect(readDeadLetterReason(dead[0]!.headers)?.message).toMatch(/has no version/);
    await transport.close();
  });
});

describe('while Redis is unreachable', () => {
  const target = () => {
    const url = new URL(endpoints.redisUrl);
    return { host: url.hostname, port: Number(url.port || 6379) };
  };

  async function setUp(policy: Pick<IdempotencyOptions, 'onUnavailable'>) {
    const proxy = await startTcpProxy(target());
    const { prefix } = await useRedisPrefix('policy');
    const client = await connect({ host: '127.0.0.1', port: proxy.port });
    const store = createRedisIdempotencyStore({ client, keyPrefix: prefix, timeoutMs: 500 });
    const transport = createInMemoryTransport({ broker: createInMemoryBroker() });
    const events: BusEvent[] = [];
    const bus = createBus({
      service: 'ledger',
      transport,
      idempotency: { store, timeoutMs: 1000, ...policy },
      retry: fastRetry,
      observers: [(event) => void events.push(event)],
    });
    const applied: string[] = [];
    await bus.subscribe({ handlers: [on(ApplyCredit, (m) => void applied.push(m.id))] });
    return {
      proxy,
      store,
      transport,
      events,
      applied,
      sender: createBus({ service: 'bank', transport }),
    };
  }

  it('fail-closed (default): does not run or ack the message, retries it, and applies it once Redis is back', async () => {
    const { proxy, store, transport, events, applied, sender } = await setUp({});
    try {
      await proxy.cut();
      await sender.send(ApplyCredit, { account: 'a', n: 1 }, { id: 'during-outage' });
      await eventually(() =>
        events.filter((e) => e.kind === 'retry').length >= 3 ? true : undefined,
      );
      expect(applied).toEqual([]);
      const retry = events.find((e) => e.kind === 'retry');
      expect(retry?.kind === 'retry' && retry.reason).toMatch(/UnavailableError/);
      await proxy.restore();
      await eventually(() => (applied.length === 1 ? true : undefined));
      await sender.send(ApplyCredit, { account: 'a', n: 1 }, { id: 'during-outage' });
      await eventually(() => (store.stats().duplicates === 1 ? true : undefined));
      expect(applied).toEqual(['during-outage']);
      expect(transport.broker.deadLetters('ledger')).toHaveLength(0);
    } finally {
      await transport.close();
      await proxy.close();
    }
  });

  it('fail-open (opt-in): runs the handler without dedupe, so a duplicate during the outage is applied twice', async () => {
    const { proxy, transport, applied, sender } = await setUp({ onUnavailable: 'fail-open' });
    try {
      await proxy.cut();
      await sender.send(ApplyCredit, { account: 'a', n: 1 }, { id: 'open-1' });
      await sender.send(ApplyCredit, { account: 'a', n: 1 }, { id: 'open-1' });
      await eventually(() => (applied.length === 2 ? true : undefined));
      expect(applied).toEqual(['open-1', 'open-1']);
    } finally {
      await transport.close();
      await proxy.close();
    }
  });
});
