// The outbox relay's loop around the store, at a clock the test moves: how many records it asks
// for, how it backs off while the store fails, when it purges, and what start/stop/drain do.
// (The publish-failure path is covered with the rest of the outbox cases.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  createInMemoryOutboxStore,
  createOutboxRelay,
  type InMemoryOutboxStore,
  type OutboxStore,
  type OutgoingMessage,
  type Transport,
  UnavailableError,
} from '../src/index.js';
import { until } from './test-helpers.js';

function message(id: string, kind: 'event' | 'command' = 'event'): OutgoingMessage {
  return {
    attributes: { id, type: 'tick', source: 'clock', specversion: '1.0', kind },
    body: new Uint8Array(),
  };
}

/** A transport that records each call, or waits for `gate` before accepting. */
function recordingTransport() {
  const calls: Array<{ method: 'publish' | 'send'; ids: string[] }> = [];
  let gate: Promise<void> = Promise.resolve();
  const record = (method: 'publish' | 'send') => async (messages: readonly OutgoingMessage[]) => {
    calls.push({ method, ids: messages.map((m) => m.attributes.id) });
    await gate;
  };
  const transport = {
    name: 'recording',
    capabilities: {} as Transport['capabilities'],
    publish: record('publish'),
    send: record('send'),
    subscribe: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  } satisfies Transport;
  return {
    transport,
    calls,
    hold() {
      let open!: () => void;
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return () => open();
    },
  };
}

async function fill(store: InMemoryOutboxStore, count: number, prefix = 'm') {
  await store.transaction((tx) =>
    store.add(
      tx,
      Array.from({ length: count }, (_, i) => message(`${prefix}-${i}`)),
    ),
  );
}

/** The in-memory store without notifications, so the relay's waits run on the faked timers. */
function pollingStore(overrides: Partial<OutboxStore<never>> = {}) {
  const inner = createInMemoryOutboxStore();
  const claims: Array<{ at: number; limit: number; leaseMs: number }> = [];
  const store: OutboxStore<never> = {
    capabilities: { ...inner.capabilities, notifications: false },
    add: (tx, messages) => inner.add(tx as never, messages),
    claim: (options) => {
      claims.push({ at: Date.now(), ...options });
      return inner.claim(options);
    },
    complete: (records) => inner.complete(records),
    fail: (records, failure) => inner.fail(records, failure),
    purge: (options) => inner.purge(options),
    ...overrides,
  };
  return { inner, store, claims };
}

const T0 = Date.UTC(2026, 0, 1);

describe('outbox relay options', () => {
  it.each([
    'batchSize',
    'leaseMs',
    'pollIntervalMs',
    'maxAttempts',
    'initialBackoffMs',
    'maxBackoffMs',
  ])('refuses a %s that is not a positive number', (name) => {
    const base = { store: createInMemoryOutboxStore(), transport: recordingTransport().transport };
    for (const value of [0, -1, Number.NaN]) {
      expect(() => createOutboxRelay({ ...base, [name]: value })).toThrow(ConfigurationError);
      expect(() => createOutboxRelay({ ...base, [name]: value })).toThrow(
        `Outbox relay option ${name} is ${value}: use a positive number.`,
      );
    }
  });
});

describe('outbox relay batches', () => {
  it('claims 100 records with a 30 s lease by default and publishes them batch by batch', async () => {
    const { inner, store, claims } = pollingStore();
    await fill(inner, 250);
    const { transport, calls } = recordingTransport();
    expect(await createOutboxRelay({ store, transport, purge: false }).drain()).toBe(250);
    expect(claims.map(({ limit, leaseMs }) => ({ limit, leaseMs }))).toEqual(
      Array(4).fill({ limit: 100, leaseMs: 30_000 }),
    );
    expect(calls.map((c) => c.ids.length)).toEqual([100, 100, 50]);
    expect(calls.flatMap((c) => c.ids)).toEqual(Array.from({ length: 250 }, (_, i) => `m-${i}`));
    expect(inner.rows().every((row) => row.status === 'published')).toBe(true);
  });

  it('asks for the configured batch size and lease', async () => {
    const { inner, store, claims } = pollingStore();
    await fill(inner, 10);
    const { transport, calls } = recordingTransport();
    const relay = createOutboxRelay({
      store,
      transport,
      batchSize: 4,
      leaseMs: 1234,
      purge: false,
    });
    expect(await relay.drain()).toBe(10);
    expect(claims.map(({ limit, leaseMs }) => ({ limit, leaseMs }))).toEqual(
      Array(4).fill({ limit: 4, leaseMs: 1234 }),
    );
    expect(calls.map((c) => c.ids.length)).toEqual([4, 4, 2]);
  });

  it('sends commands and publishes events, in their stored order', async () => {
    const { inner, store } = pollingStore();
    await inner.transaction((tx) =>
      inner.add(tx, [message('e1'), message('e2'), message('c1', 'command'), message('e3')]),
    );
    const { transport, calls } = recordingTransport();
    await createOutboxRelay({ store, transport, purge: false }).drain();
    expect(calls.flatMap((c) => c.ids.map((id) => `${c.method} ${id}`))).toEqual([
      'publish e1',
      'publish e2',
      'send c1',
      'publish e3',
    ]);
  });

  it('drain() stops with UnavailableError, carrying the cause, when the store fails', async () => {
    const cause = new Error('connection refused');
    const { store } = pollingStore({ claim: () => Promise.reject(cause) });
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store,
      transport: recordingTransport().transport,
      onError: (error) => errors.push(error),
    });
    const failure = await relay.drain().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnavailableError);
    expect(failure).toMatchObject({
      message: 'Outbox relay drain stopped: a publish or store call failed.',
      cause,
    });
    expect(errors).toEqual([cause]);
  });
});

describe('outbox relay wake-ups', () => {
  it('picks up a record within the poll interval when the store never notifies', async () => {
    const { inner, store } = pollingStore({
      // A notification channel that stays silent: only the relay's own poll timeout ends it.
      waitForChange: (signal) =>
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
    });
    const { transport, calls } = recordingTransport();
    const relay = createOutboxRelay({ store, transport, pollIntervalMs: 20, purge: false });
    relay.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await fill(inner, 1);
    await until(() => calls.length === 1);
    await relay.stop();
    expect(calls).toEqual([{ method: 'publish', ids: ['m-0'] }]);
  });

  it('publishes a committed record as soon as the store notifies, long before the poll interval', async () => {
    const inner = createInMemoryOutboxStore();
    const { transport, calls } = recordingTransport();
    const relay = createOutboxRelay({
      store: inner,
      transport,
      pollIntervalMs: 3_600_000,
      purge: false,
    });
    relay.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await fill(inner, 1);
    await until(() => calls.length === 1);
    await relay.stop();
    expect(calls).toEqual([{ method: 'publish', ids: ['m-0'] }]);
  });
});

describe('outbox relay loop', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('backs off from initialBackoffMs, doubling up to maxBackoffMs, and starts over after a success', async () => {
    const { inner, store, claims } = pollingStore();
    await fill(inner, 1);
    // Fails 5 times, then claims the record, then fails once more.
    const script = ['fail', 'fail', 'fail', 'fail', 'fail', 'ok', 'fail'];
    const errors: unknown[] = [];
    const flaky: OutboxStore<never> = {
      ...store,
      claim: (options) => {
        if (script.shift() !== 'fail') return store.claim(options);
        claims.push({ at: Date.now(), ...options });
        return Promise.reject(new Error('store down'));
      },
    };
    const { transport, calls } = recordingTransport();
    const relay = createOutboxRelay({
      store: flaky,
      transport,
      initialBackoffMs: 100,
      maxBackoffMs: 500,
      pollIntervalMs: 60_000,
      purge: false,
      onError: (error) => errors.push(error),
    });
    relay.start();
    await vi.advanceTimersByTimeAsync(5_000);
    await relay.stop();
    const gaps = claims.slice(1, 8).map((claim, i) => claim.at - claims[i]!.at);
    expect(gaps).toEqual([100, 200, 400, 500, 500, 0, 100]);
    expect(calls).toEqual([{ method: 'publish', ids: ['m-0'] }]);
    expect(errors).toHaveLength(6);
    expect(errors.every((e) => (e as Error).message === 'store down')).toBe(true);
  });

  it('polls every pollIntervalMs while nothing is claimable, and keeps polling if notifications fail', async () => {
    const errors: unknown[] = [];
    const broken = new Error('LISTEN connection lost');
    const { store, claims } = pollingStore({ waitForChange: () => Promise.reject(broken) });
    const relay = createOutboxRelay({
      store,
      transport: recordingTransport().transport,
      pollIntervalMs: 250,
      purge: false,
      onError: (error) => errors.push(error),
    });
    relay.start();
    await vi.advanceTimersByTimeAsync(1000);
    await relay.stop();
    expect(claims.map((c) => c.at - T0)).toEqual([0, 250, 500, 750, 1000]);
    expect(errors).toEqual([broken, broken, broken, broken, broken]);
  });

  it('purges a backlog in batches of `limit` until one comes back short, then every everyMs', async () => {
    const purges: Array<{ at: number; olderThanMs: number; limit: number }> = [];
    const answers = [2, 2, 1, 0];
    const { store } = pollingStore({
      purge: async (options) => {
        purges.push({ at: Date.now() - T0, ...options });
        return answers.shift() ?? 0;
      },
    });
    const relay = createOutboxRelay({
      store,
      transport: recordingTransport().transport,
      pollIntervalMs: 100,
      purge: { olderThanMs: 1000, everyMs: 5000, limit: 2 },
    });
    relay.start();
    await vi.advanceTimersByTimeAsync(9_950);
    expect(purges).toEqual([
      { at: 0, olderThanMs: 1000, limit: 2 },
      { at: 0, olderThanMs: 1000, limit: 2 },
      { at: 0, olderThanMs: 1000, limit: 2 },
      { at: 5000, olderThanMs: 1000, limit: 2 },
    ]);
    await vi.advanceTimersByTimeAsync(100);
    await relay.stop();
    expect(purges.map((p) => p.at)).toEqual([0, 0, 0, 5000, 10_000]);
  });

  it('purges published records older than an hour every minute by default', async () => {
    const purges: Array<{ at: number; olderThanMs: number; limit: number }> = [];
    const { store } = pollingStore({
      purge: async (options) => {
        purges.push({ at: Date.now() - T0, ...options });
        return 0;
      },
    });
    const relay = createOutboxRelay({ store, transport: recordingTransport().transport });
    relay.start();
    await vi.advanceTimersByTimeAsync(119_000);
    await relay.stop();
    expect(purges).toEqual([
      { at: 0, olderThanMs: 3_600_000, limit: 1000 },
      { at: 60_000, olderThanMs: 3_600_000, limit: 1000 },
    ]);
  });

  it('actually deletes old published records from the store', async () => {
    const { inner, store } = pollingStore();
    await fill(inner, 3);
    const relay = createOutboxRelay({
      store,
      transport: recordingTransport().transport,
      pollIntervalMs: 100,
      purge: { olderThanMs: 1000, everyMs: 1000, limit: 10 },
    });
    relay.start();
    await vi.advanceTimersByTimeAsync(500);
    expect(inner.rows().map((r) => r.status)).toEqual(['published', 'published', 'published']);
    await vi.advanceTimersByTimeAsync(1000);
    await relay.stop();
    expect(inner.rows()).toEqual([]);
  });

  it('reports a failing purge and keeps relaying; purge: false never purges', async () => {
    const errors: unknown[] = [];
    const broken = new Error('purge timed out');
    let purgeCalls = 0;
    const { inner, store } = pollingStore({
      purge: () => {
        purgeCalls += 1;
        return Promise.reject(broken);
      },
    });
    const { transport, calls } = recordingTransport();
    const relay = createOutboxRelay({
      store,
      transport,
      pollIntervalMs: 100,
      purge: { olderThanMs: 1, everyMs: 1000, limit: 10 },
      onError: (error) => errors.push(error),
    });
    relay.start();
    await vi.advanceTimersByTimeAsync(150);
    await fill(inner, 1);
    await vi.advanceTimersByTimeAsync(100);
    await relay.stop();
    expect(errors).toEqual([broken]);
    expect(purgeCalls).toBe(1);
    expect(calls).toEqual([{ method: 'publish', ids: ['m-0'] }]);

    const off = pollingStore({
      purge: () => {
        purgeCalls += 1;
        return Promise.resolve(0);
      },
    });
    const quiet = createOutboxRelay({ store: off.store, transport, purge: false });
    quiet.start();
    await vi.advanceTimersByTimeAsync(5000);
    await quiet.stop();
    expect(purgeCalls).toBe(1);
  });

  it('stops purging a backlog when stopped', async () => {
    let purgeCalls = 0;
    const { store } = pollingStore({
      purge: async ({ limit }) => {
        purgeCalls += 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
        return limit; // an endless backlog
      },
    });
    const relay = createOutboxRelay({
      store,
      transport: recordingTransport().transport,
      purge: { olderThanMs: 1, everyMs: 1, limit: 5 },
    });
    relay.start();
    await vi.advanceTimersByTimeAsync(35);
    const stopped = relay.stop();
    await vi.advanceTimersByTimeAsync(100);
    await stopped;
    expect(purgeCalls).toBe(4);
  });

  it('stop() waits for the in-flight batch to be published and completed, then relays nothing more', async () => {
    const { inner, store, claims } = pollingStore();
    await fill(inner, 2);
    const { transport, calls, hold } = recordingTransport();
    const release = hold();
    const relay = createOutboxRelay({ store, transport, pollIntervalMs: 100, purge: false });
    relay.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    let stopped = false;
    const stopping = relay.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(inner.rows().map((r) => r.status)).toEqual(['published', 'published']);
    const claimsAtStop = claims.length;
    await fill(inner, 1, 'late');
    await vi.advanceTimersByTimeAsync(1000);
    expect(claims.length).toBe(claimsAtStop);
    expect(calls).toHaveLength(1);
  });

  it('runs one loop however often start() is called, and can start again after stop()', async () => {
    const { inner, store, claims } = pollingStore();
    const { transport, calls } = recordingTransport();
    const relay = createOutboxRelay({ store, transport, pollIntervalMs: 100, purge: false });
    await relay.stop(); // not running: nothing to wait for
    relay.start();
    relay.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(claims.map((c) => c.at - T0)).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000,
    ]);
    await relay.stop();
    await relay.stop();
    await fill(inner, 1);
    relay.start();
    await vi.advanceTimersByTimeAsync(0);
    await relay.stop();
    expect(calls).toEqual([{ method: 'publish', ids: ['m-0'] }]);
  });
});
