// The relay when the broker or the store fails: what onError and drain() tell the operator, what
// each outbox row records about why it was not published, and which records count an attempt.
import { describe, expect, it, vi } from 'vitest';
import {
  createInMemoryOutboxStore,
  createInMemoryTransport,
  createOutboxRelay,
  EdaError,
  type InMemoryOutboxStore,
  type OutboxStore,
  type OutgoingMessage,
} from '../src/index.js';

import { orderIdOf, refusingBroker, rowOf, write } from './relay-fixtures.js';

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Records the store calls the relay makes, passing them on. */
function spied(memory: InMemoryOutboxStore) {
  const store = memory as unknown as OutboxStore<never>;
  const calls: { method: string; ids: string[]; failure?: unknown; options?: unknown }[] = [];
  const ids = (records: readonly { message: OutgoingMessage }[]) =>
    records.map((r) => orderIdOf(r.message));
  const wrapped: OutboxStore<never> = {
    ...store,
    claim: (options) => store.claim(options),
    complete: (records) => {
      calls.push({ method: 'complete', ids: ids(records) });
      return store.complete(records);
    },
    fail: (records, failure, options) => {
      calls.push({ method: 'fail', ids: ids(records), failure, options });
      return store.fail(records, failure, options);
    },
  };
  return { store: wrapped, calls };
}

describe('outbox relay: publish failures', () => {
  it('tells onError which record was refused, for which aggregate, which attempt, and when it retries', async () => {
    const store = createInMemoryOutboxStore();
    await write(store, [['bad', 'order-9']]);
    const { transport } = refusingBroker((id) => id === 'bad');
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store,
      transport,
      maxAttempts: 3,
      initialBackoffMs: 40,
      purge: false,
      onError: (error) => errors.push(error),
    });
    const messages: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const drained = relay.drain();
      await expect(drained).rejects.toThrow(
        'Outbox relay drain stopped: a publish or store call failed.',
      );
      // drain's error carries what onError was told, so a script sees the cause without onError.
      const error = await rejectionOf(drained);
      expect(error.cause).toBe(errors[attempt - 1]);
      messages.push((errors[attempt - 1] as Error).message);
      store.rows()[0]!.availableAt = 0;
    }
    const recordId = String(store.rows()[0]!.seq);
    expect(messages).toEqual([
      `Outbox relay: test-broker refused record ${recordId} (type order.placed, aggregate order-9) on its own, attempt 1 of 3: retrying in 40 ms. TypeError: message too large (bad)`,
      `Outbox relay: test-broker refused record ${recordId} (type order.placed, aggregate order-9) on its own, attempt 2 of 3: retrying in 80 ms. TypeError: message too large (bad)`,
      `Outbox relay: test-broker refused record ${recordId} (type order.placed, aggregate order-9) on its own, attempt 3 of 3: it is now dead in the outbox; fix the cause and reset it to pending to send it again. TypeError: message too large (bad)`,
    ]);
    for (const error of errors) {
      expect(EdaError.isInstance(error) && error.code).toBe('EDA_UNAVAILABLE');
      expect((error as Error).cause).toBeInstanceOf(TypeError);
    }
    // The row keeps the broker's reason, with its error type, for whoever inspects the outbox.
    expect(rowOf(store, 'bad')).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastError: 'TypeError: message too large (bad)',
    });
  });

  it('names no aggregate for a refused record written without a partition key', async () => {
    const store = createInMemoryOutboxStore();
    await write(store, [['bad']]);
    const errors: Error[] = [];
    const relay = createOutboxRelay({
      store,
      transport: refusingBroker(() => true).transport,
      purge: false,
      onError: (error) => errors.push(error as Error),
    });
    await expect(relay.drain()).rejects.toThrow(/drain stopped/);
    expect(errors[0]?.message).toMatch(
      /^Outbox relay: test-broker refused record \d+ \(type order\.placed\) on its own, attempt 1 of 10: retrying in 200 ms\. /,
    );
  });

  it('settles a partly refused batch in one pass: completes the rest, fails the refused record, defers its aggregate', async () => {
    const memory = createInMemoryOutboxStore();
    await write(memory, [
      ['A1', 'A'],
      ['B1', 'B'],
      ['A2', 'A'],
      ['A3', 'A'],
    ]);
    const { store, calls } = spied(memory);
    const { transport, published } = refusingBroker((id) => id === 'A1');
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store,
      transport,
      purge: false,
      onError: (error) => errors.push(error),
    });
    // A partly published batch is progress, not a failure: drain counts it and goes on.
    expect(await relay.drain()).toBe(1);
    expect(published).toEqual(['B1']);
    expect(errors).toHaveLength(1);
    const a1 = String(rowOf(memory, 'A1').seq);
    expect(calls).toEqual([
      { method: 'complete', ids: ['B1'] },
      {
        method: 'fail',
        ids: ['A1'],
        failure: {
          error: 'TypeError: message too large (A1)',
          maxAttempts: 10,
          retryAfterMs: 200,
        },
        options: undefined,
      },
      {
        method: 'fail',
        ids: ['A2', 'A3'],
        failure: {
          error: `Deferred behind refused record ${a1} of its aggregate`,
          maxAttempts: 10,
          retryAfterMs: 0,
        },
        options: { deferred: true },
      },
    ]);
    expect(rowOf(memory, 'A2')).toMatchObject({
      status: 'pending',
      attempts: 0,
      lastError: `Deferred behind refused record ${a1} of its aggregate`,
    });
    expect(rowOf(memory, 'A1')).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('when the broker refuses everything, the records after two lone refusals are released untried, with the reason', async () => {
    const memory = createInMemoryOutboxStore();
    await write(memory, [
      ['o-1', 'k-1'],
      ['o-2', 'k-2'],
      ['o-3', 'k-3'],
      ['o-4', 'k-4'],
    ]);
    const { store, calls } = spied(memory);
    const relay = createOutboxRelay({
      store,
      transport: refusingBroker(() => true).transport,
      purge: false,
    });
    await expect(relay.drain()).rejects.toThrow(/drain stopped/);
    const fails = calls.filter((c) => c.method === 'fail');
    expect(fails.map((c) => c.ids)).toEqual([['o-1'], ['o-2'], ['o-3', 'o-4']]);
    expect(fails[2]).toMatchObject({
      failure: {
        error: 'Not tried: the broker refused the records before it, or the lease ran short',
        maxAttempts: 10,
        retryAfterMs: 0,
      },
      options: { deferred: true },
    });
    // Nothing was published, so nothing is completed.
    expect(calls.filter((c) => c.method === 'complete' && c.ids.length > 0)).toEqual([]);
    expect(rowOf(memory, 'o-4')).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('stops isolating at half the lease: a slow refusing broker leaves the rest untried, well before another relay may claim it', async () => {
    const memory = createInMemoryOutboxStore();
    await write(memory, [
      ['o-1', 'k-1'],
      ['bad', 'k-2'],
      ['o-3', 'k-3'],
      ['o-4', 'k-4'],
    ]);
    const { store, calls: storeCalls } = spied(memory);
    // The lease is 2 s, so isolation may go on for 1 s after the claim: the whole batch is refused
    // at once, its first half takes 1.2 s (and is refused), then the deadline has passed and
    // nothing more is sent. On fake timers, so a busy machine gives the same calls.
    const { transport, published, calls } = refusingBroker((id) => id === 'bad', 1200);
    const relay = createOutboxRelay({ store, transport, leaseMs: 2000, purge: false });
    vi.useFakeTimers();
    try {
      const drained = relay.drain();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await drained).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    expect(calls).toEqual([
      ['o-1', 'bad', 'o-3', 'o-4'],
      ['o-1', 'bad'],
    ]);
    expect(published).toEqual([]);
    expect(storeCalls.filter((c) => c.method === 'fail').map((c) => c.ids)).toEqual([
      ['o-1', 'bad', 'o-3', 'o-4'],
    ]);
    for (const id of ['o-1', 'bad', 'o-3', 'o-4'])
      expect(rowOf(memory, id), id).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('reports a store that cannot claim to onError, and drain rejects with it as the cause', async () => {
    const memory = createInMemoryOutboxStore();
    const down = new Error('connection refused');
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store: {
        ...(memory as unknown as OutboxStore<never>),
        claim: async () => {
          throw down;
        },
      },
      transport: createInMemoryTransport(),
      purge: false,
      onError: (error) => errors.push(error),
    });
    const error = await rejectionOf(relay.drain());
    expect(EdaError.isInstance(error) && error.code).toBe('EDA_UNAVAILABLE');
    expect(error.message).toBe('Outbox relay drain stopped: a publish or store call failed.');
    expect(error.cause).toBe(down);
    expect(errors).toEqual([down]);
  });

  it('a store that fails to complete a published batch stops drain: nothing is counted as done', async () => {
    const memory = createInMemoryOutboxStore();
    await write(memory, [['o-1', 'k-1']]);
    const lost = new Error('lease lost');
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store: {
        ...(memory as unknown as OutboxStore<never>),
        claim: (options) => memory.claim(options),
        complete: async () => {
          throw lost;
        },
      },
      transport: createInMemoryTransport(),
      purge: false,
      onError: (error) => errors.push(error),
    });
    const error = await rejectionOf(relay.drain());
    expect(error.cause).toBe(lost);
    expect(errors).toEqual([lost]);
    expect(rowOf(memory, 'o-1').status).toBe('pending');
  });

  it('drain returns 0 on an empty outbox without asking the broker or settling anything', async () => {
    const memory = createInMemoryOutboxStore();
    const { store, calls } = spied(memory);
    const { transport, calls: brokerCalls } = refusingBroker(() => false);
    expect(await createOutboxRelay({ store, transport, purge: false }).drain()).toBe(0);
    expect(calls).toEqual([]);
    expect(brokerCalls).toEqual([]);
  });
});
