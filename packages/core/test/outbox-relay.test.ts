// The relay over the in-memory store: a record the broker refuses counts only against itself
// (and what its aggregate's order holds behind it), never against unrelated aggregates.
import { describe, expect, it } from 'vitest';
import { createInMemoryOutboxStore, createOutboxRelay, EdaError } from '../src/index.js';
import { refusingBroker, rowOf, write } from './relay-fixtures.js';
import { until } from './test-helpers.js';

describe('outbox relay: refusals', () => {
  it('a record the broker always refuses, at the default batch size: G1 and G2 are published, P alone is dead after maxAttempts', async () => {
    const store = createInMemoryOutboxStore();
    await write(store, [
      ['P', 'A'],
      ['G1', 'B'],
      ['G2', 'C'],
    ]);
    const { transport, published } = refusingBroker((id) => id === 'P');
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store,
      transport,
      maxAttempts: 3,
      initialBackoffMs: 5,
      pollIntervalMs: 10,
      purge: false,
      onError: (error) => errors.push(error),
    });
    relay.start();
    try {
      await until(() => rowOf(store, 'P').status === 'dead', 10_000);
    } finally {
      await relay.stop();
    }
    expect(published).toEqual(['G1', 'G2']);
    for (const good of ['G1', 'G2']) {
      expect(rowOf(store, good), `${good} is unrelated to P`).toMatchObject({
        status: 'published',
        attempts: 0,
      });
    }
    expect(rowOf(store, 'P')).toMatchObject({ status: 'dead', attempts: 3 });
    expect(rowOf(store, 'P').lastError).toMatch(/message too large \(P\)/);
    // onError hears about each refusal of P alone, as an UnavailableError carrying the broker's error.
    expect(errors).toHaveLength(3);
    for (const error of errors) {
      expect(EdaError.isInstance(error) && error.code).toBe('EDA_UNAVAILABLE');
      expect((error as Error).cause).toBeInstanceOf(Error);
    }
  });

  it('defers the later records of a refused aggregate without counting an attempt, and keeps their order', async () => {
    const store = createInMemoryOutboxStore();
    await write(store, [
      ['A1', 'A'],
      ['B1', 'B'],
      ['A2', 'A'],
      ['B2', 'B'],
    ]);
    let refuseA1 = true;
    const { transport, published } = refusingBroker((id) => refuseA1 && id === 'A1');
    const relay = createOutboxRelay({ store, transport, purge: false });
    // First drain: A1 refused alone (one attempt), A2 deferred behind it, B1 and B2 flow.
    expect(await relay.drain()).toBe(2);
    expect(published).toEqual(['B1', 'B2']);
    expect(rowOf(store, 'A1')).toMatchObject({ status: 'pending', attempts: 1 });
    expect(rowOf(store, 'A2')).toMatchObject({ status: 'pending', attempts: 0 });
    refuseA1 = false;
    await until(() => rowOf(store, 'A1').availableAt <= Date.now());
    expect(await relay.drain()).toBe(2);
    expect(published).toEqual(['B1', 'B2', 'A1', 'A2']);
    expect(rowOf(store, 'A2').attempts).toBe(0);
  });

  it('isolates a refused record by halves: a batch of 100 with one refused record costs a few calls, not 100', async () => {
    const store = createInMemoryOutboxStore();
    const records = Array.from({ length: 100 }, (_, i) => [`o-${i}`, `k-${i}`] as [string, string]);
    await write(store, records);
    const { transport, published, calls } = refusingBroker((id) => id === 'o-37');
    const relay = createOutboxRelay({ store, transport, initialBackoffMs: 5, purge: false });
    expect(await relay.drain()).toBe(99);
    expect(published).toHaveLength(99);
    expect(published).not.toContain('o-37');
    // One call for the batch, then two halves per level down to the single record (log2(100) ~ 7).
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * 7);
    expect(rowOf(store, 'o-37')).toMatchObject({ status: 'pending', attempts: 1 });
    for (const [orderId] of records.filter(([id]) => id !== 'o-37'))
      expect(rowOf(store, orderId).attempts).toBe(0);
  });

  it('when the broker refuses everything, stops isolating after two lone refusals and counts no attempt for the rest', async () => {
    const store = createInMemoryOutboxStore();
    const records = Array.from({ length: 100 }, (_, i) => [`o-${i}`, `k-${i}`] as [string, string]);
    await write(store, records);
    const { transport, calls } = refusingBroker(() => true);
    const relay = createOutboxRelay({ store, transport, purge: false });
    await expect(relay.drain()).rejects.toThrow(/Outbox relay drain stopped/);
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * 7);
    const counted = store.rows().filter((r) => r.attempts > 0);
    expect(counted.length).toBeLessThanOrEqual(2);
    expect(store.rows().every((r) => r.status === 'pending')).toBe(true);
  });
});
