// Subscriptions whose transport delivers more messages at once (prefetch) than run their
// handler at once (concurrency): the bound holds, and the waiting messages are already claimed.
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryTransport,
  defineCommand,
  type IdempotencyStore,
  on,
} from '../src/index.js';
import { until } from './test-helpers.js';

const Work = defineCommand<{ n: number }>({ type: 'work.item', owner: 'worker' });

async function sendWork(transport: ReturnType<typeof createInMemoryTransport>, count: number) {
  const producer = createBus({ service: 'producer', transport });
  for (let n = 0; n < count; n++) await producer.send(Work, { n });
}

describe('prefetch above concurrency', () => {
  it('runs at most `concurrency` handlers while `prefetch` deliveries are claimed ahead, and handles every message once', async () => {
    const transport = createInMemoryTransport();
    await sendWork(transport, 40);
    const inner = createInMemoryIdempotencyStore();
    let claims = 0;
    const store: IdempotencyStore = {
      ...inner,
      claim: (key, options) => {
        claims += 1;
        return inner.claim(key, options);
      },
    };
    const worker = createBus({ service: 'worker', transport, idempotency: { store } });
    let active = 0;
    let maxActive = 0;
    const handled: number[] = [];
    const gates: Array<() => void> = [];
    await worker.subscribe({
      concurrency: 3,
      prefetch: 8,
      handlers: [
        on(Work, async (message) => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await new Promise<void>((resolve) => gates.push(resolve));
          active -= 1;
          handled.push(message.data.n);
        }),
      ],
    });
    // With 3 handlers blocked, the other 5 prefetched deliveries are claimed and wait.
    await until(() => gates.length === 3 && claims === 8);
    expect(active).toBe(3);
    // And no more than `prefetch` are taken while every handler slot stays busy.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(claims).toBe(8);
    expect(active).toBe(3);
    while (handled.length < 40) {
      await until(() => gates.length > 0);
      gates.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(maxActive).toBe(3);
    expect(claims).toBe(40);
    expect([...handled].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await worker.close();
    await transport.close();
  });

  it('refuses a prefetch below concurrency or not an integer, saying what to pass', async () => {
    const transport = createInMemoryTransport();
    const worker = createBus({ service: 'worker', transport });
    const handlers = [on(Work, () => undefined)];
    await expect(worker.subscribe({ concurrency: 4, prefetch: 2, handlers })).rejects.toThrow(
      ConfigurationError,
    );
    await expect(worker.subscribe({ concurrency: 4, prefetch: 2, handlers })).rejects.toThrow(
      /prefetch is 2: use an integer >= concurrency \(4\)/,
    );
    await expect(worker.subscribe({ prefetch: 1.5, handlers })).rejects.toThrow(/prefetch is 1.5/);
    await transport.close();
  });
});
