// Faults with the real Redis: a restart mid-stream (this Redis keeps nothing on disk), dropped
// connections mid-claim, and a consumer process killed while it holds a claim.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type BusEvent,
  createBus,
  createInMemoryTransport,
  defineCommand,
  on,
  readDeadLetterReason,
} from '@eda/core';
import {
  cleanupServices,
  createRedis,
  endpoints,
  restartRedis,
  useRedisPrefix,
} from '@eda/test-services';
import { waitFor } from '@eda/test-suite';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisIdempotencyStore } from '../src/index.js';
import { closeClients, connect, eventually, ready } from './support/clients.js';
import { startTcpProxy } from './support/tcp-proxy.js';

const ApplyCredit = defineCommand<{ n: number }>({ type: 'ledger.apply-credit', owner: 'ledger' });

afterEach(async () => {
  closeClients();
  await cleanupServices();
});

// Core's default idempotency leaseMs.
const DEFAULT_LEASE_MS = 60_000;

describe('Redis restarted mid-stream (no persistence)', () => {
  it('loses no message, and re-applies only messages whose completion the restart erased', async () => {
    const { prefix } = await useRedisPrefix('restart');
    const client = await connect();
    const store = createRedisIdempotencyStore({ client, keyPrefix: prefix });
    const transport = createInMemoryTransport();
    const bus = createBus({
      service: 'ledger',
      transport,
      idempotency: { store }, // default lease, timeout and retry policy
    });
    const applied = new Map<string, number[]>(); // id -> times (ms) of each application
    await bus.subscribe({
      concurrency: 8,
      handlers: [
        on(ApplyCredit, async (m) => {
          await new Promise((resolve) => setTimeout(resolve, 2)); // a side effect takes a moment
          applied.set(m.id, [...(applied.get(m.id) ?? []), Date.now()]);
        }),
      ],
    });
    const sender = createBus({ service: 'bank', transport });
    const first = Array.from({ length: 600 }, (_, i) => `before-${i}`);
    for (const id of first) await sender.send(ApplyCredit, { n: 1 }, { id });
    // Restart while the stream is being consumed.
    await eventually(() => (applied.size >= 100 ? true : undefined));
    await restartRedis();
    await ready(client);
    const restartedAt = Date.now();
    await eventually(() => (first.every((id) => applied.has(id)) ? true : undefined), 60_000);
    // Now every first-wave message arrives again, and a second wave arrives twice.
    const second = Array.from({ length: 300 }, (_, i) => `after-${i}`);
    for (const id of [...first, ...second, ...second])
      await sender.send(ApplyCredit, { n: 1 }, { id });
    const queue = transport.broker.queue('ledger.apply-credit');
    await eventually(() => {
      const s = store.stats();
      return queue.depth === 0 &&
        s.claimed + s.duplicates >= first.length + second.length * 2 + first.length
        ? true
        : undefined;
    }, 60_000);
    // Nothing is lost.
    for (const id of [...first, ...second])
      expect(applied.get(id)?.length ?? 0).toBeGreaterThanOrEqual(1);
    // Messages that first arrive after the restart are applied exactly once.
    for (const id of second) expect(applied.get(id)).toHaveLength(1);
    // A first-wave message applied after Redis came back is remembered: applied once.
    const appliedAfter = first.filter((id) => applied.get(id)![0]! > restartedAt);
    for (const id of appliedAfter) expect(applied.get(id)).toHaveLength(1);
    // Those applied before the restart were forgotten with Redis's data: their duplicate ran again.
    const forgotten = first.filter((id) => applied.get(id)!.length === 2);
    expect(forgotten.length).toBeGreaterThanOrEqual(100);
    for (const id of first) expect(applied.get(id)!.length).toBeLessThanOrEqual(2);
    await transport.close();
  });
});

describe('connection dropped mid-claim', () => {
  it('handles a message once whose claim timed out and landed later, without dead-lettering it (defaults)', async () => {
    const url = new URL(endpoints.redisUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 6379) });
    const { prefix } = await useRedisPrefix('drop');
    const inspector = createRedis();
    // Every option at its default: store timeoutMs, idempotency leaseMs and timeoutMs, retry.
    const client = await connect({ host: '127.0.0.1', port: proxy.port });
    const store = createRedisIdempotencyStore({ client, keyPrefix: prefix });
    const transport = createInMemoryTransport();
    const bus = createBus({ service: 'ledger', transport, idempotency: { store } });
    const applied: string[] = [];
    await bus.subscribe({ handlers: [on(ApplyCredit, (m) => void applied.push(m.id))] });
    const key = store.redisKeyOf('ledger:msg:bank:dropped-1');
    try {
      proxy.dropReplies();
      await createBus({ service: 'bank', transport }).send(
        ApplyCredit,
        { n: 1 },
        { id: 'dropped-1' },
      );
      // The claim ran on the server (the key is held) but its reply never came: the store gave
      // up after timeoutMs, so the delivery failed with UnavailableError.
      await waitFor(
        async () => (await inspector.hget(key, 's')) === 'p' && store.stats().failures > 0,
        { idleMs: 30_000, description: 'a claim held on the server whose caller timed out' },
      );
      expect(applied).toEqual([]);
      await proxy.cut(); // the connection drops; ioredis re-sends the unanswered claims
      await proxy.restore();
      await waitFor(
        () => {
          const dead = transport.broker.deadLetters('ledger');
          if (dead.length > 0)
            throw new Error(
              `dead-lettered: ${JSON.stringify(readDeadLetterReason(dead[0]!.headers))}`,
            );
          return applied.length === 1;
        },
        {
          idleMs: 90_000,
          progress: () => store.stats().scriptCalls,
          description: 'the message handled',
        },
      );
      expect(applied).toEqual(['dropped-1']);
      await waitFor(async () => (await inspector.hget(key, 's')) === 'd', { idleMs: 10_000 });
      expect(transport.broker.deadLetters('ledger')).toHaveLength(0);
    } finally {
      await transport.close();
      inspector.disconnect();
      await proxy.close();
    }
  }, 300_000); // a cap only: the waits above fail on no progress

  it('applies each of 2,000 duplicated commands once while the consumer connection is killed repeatedly', async () => {
    const { prefix } = await useRedisPrefix('kill-conn');
    const client = await connect();
    const clientId = await client.client('ID');
    const store = createRedisIdempotencyStore({ client, keyPrefix: prefix });
    const transport = createInMemoryTransport();
    const bus = createBus({
      service: 'ledger',
      transport,
      // Every option at its default. A shorter lease would make doubles: a completion that timed
      // out on a busy machine lands late (ioredis re-sends it), and a lease shorter than that
      // lets the redelivery claim and apply the message again before it lands.
      idempotency: { store },
    });
    const applied = new Map<string, number>();
    await bus.subscribe({
      concurrency: 16,
      handlers: [
        on(ApplyCredit, async (m) => {
          await new Promise((resolve) => setImmediate(resolve)); // the side effect awaits I/O
          applied.set(m.id, (applied.get(m.id) ?? 0) + 1);
        }),
      ],
    });
    const ids = Array.from({ length: 2000 }, (_, i) => `m-${i}`);
    const admin = createRedis();
    let kills = 0;
    let killsMidStream = 0;
    // Kill the consumer's connection whenever it is up, from before the first send until
    // everything is applied.
    const killer = (async () => {
      while (applied.size < ids.length && kills < 500) {
        await ready(client);
        const id = await client.client('ID').catch(() => clientId);
        const killed = await admin.client('KILL', 'ID', String(id)).catch(() => 0);
        kills += 1;
        if (killed && applied.size > 0 && applied.size < ids.length) killsMidStream += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const sender = createBus({ service: 'bank', transport });
    try {
      for (const id of ids) {
        await sender.send(ApplyCredit, { n: 1 }, { id });
        await sender.send(ApplyCredit, { n: 1 }, { id });
        // Space the sends out so the stream overlaps many kills.
        if (Number(id.slice(2)) % 100 === 99)
          await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await killer;
    } finally {
      admin.disconnect();
    }
    const queue = transport.broker.queue('ledger.apply-credit');
    // A claim that landed but whose answer was lost holds its key for the whole default lease
    // (60 s): wait for progress, allowing one lease with no visible progress.
    await waitFor(
      () => {
        const dead = transport.broker.deadLetters('ledger');
        if (dead.length > 0)
          throw new Error(
            `${dead.length} dead-lettered, first: ${JSON.stringify(readDeadLetterReason(dead[0]!.headers))}`,
          );
        const s = store.stats();
        return queue.depth === 0 && s.claimed + s.duplicates >= 2 * ids.length;
      },
      {
        idleMs: DEFAULT_LEASE_MS + 30_000,
        progress: () => store.stats().claimed + store.stats().duplicates,
        description: 'every command claimed or skipped',
      },
    );
    // The connection really was dropped while messages were being claimed and completed.
    expect(killsMidStream).toBeGreaterThan(3);
    expect(applied.size).toBe(ids.length);
    expect([...applied.values()].every((count) => count === 1)).toBe(true);
    await transport.close();
  }, 300_000); // a cap only: the wait above fails on no progress
});

describe('consumer killed while holding a claim', () => {
  it('lets another consumer process the message once the dead consumer lease has ended (defaults)', async () => {
    const { prefix } = await useRedisPrefix('killed');
    const key = 'ledger:msg:bank:killed-1';
    const script = fileURLToPath(new URL('./support/claim-and-hang.ts', import.meta.url));
    // The dead consumer claimed with core's default lease (60 s), longer than the default retry
    // policy's whole budget (5 deliveries, about 15 s): the message must wait, not dead-letter.
    const child = spawn(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        script,
        endpoints.redisUrl,
        prefix,
        key,
        String(DEFAULT_LEASE_MS),
      ],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await eventually(() => (output.includes('\n') ? true : undefined), 30_000);
    expect(output.trim()).toBe('claimed');
    child.kill('SIGKILL'); // dies mid-handler: never completes, never releases
    await exited;

    const store = createRedisIdempotencyStore({ client: await connect(), keyPrefix: prefix });
    const transport = createInMemoryTransport();
    const events: BusEvent[] = [];
    // Default retry policy and idempotency options.
    const bus = createBus({
      service: 'ledger',
      transport,
      idempotency: { store },
      observers: [(event) => void events.push(event)],
    });
    const applied: string[] = [];
    await bus.subscribe({ handlers: [on(ApplyCredit, (m) => void applied.push(m.id))] });
    await createBus({ service: 'bank', transport }).send(ApplyCredit, { n: 1 }, { id: 'killed-1' });
    await waitFor(
      () => {
        const dead = transport.broker.deadLetters('ledger');
        if (dead.length > 0)
          throw new Error(
            `dead-lettered: ${JSON.stringify(readDeadLetterReason(dead[0]!.headers))}`,
          );
        return applied.length === 1;
      },
      // The lease is the one wait with no progress to see: allow it whole, plus a margin.
      { idleMs: DEFAULT_LEASE_MS + 30_000, description: 'the message handled after the lease' },
    );
    expect(applied).toEqual(['killed-1']);
    // It waited for the lease: the first deliveries found the dead consumer's claim in progress;
    // every wait was deferred (in progress, or a store call that timed out on a busy machine),
    // none spent a delivery.
    const retries = events.filter((e) => e.kind === 'retry');
    expect(retries.some((e) => e.kind === 'retry' && /InProgressError/.test(e.reason))).toBe(true);
    expect(
      retries.every(
        (e) =>
          e.kind === 'retry' &&
          e.deferred &&
          e.attempt === 1 &&
          /InProgressError|UnavailableError/.test(e.reason),
      ),
    ).toBe(true);
    expect(transport.broker.deadLetters('ledger')).toHaveLength(0);
    await transport.close();
  }, 300_000); // a cap only: the wait above fails on no progress
});
