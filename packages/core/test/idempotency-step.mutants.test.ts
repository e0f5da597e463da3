// What the idempotency step promises a user, case by case: entity-version dedupe applies only
// newer versions, the store is asked with the lease and retention the user configured, a slow
// store is reported by name and bounded by the timeout, and `dedupe: 'none'` leaves it alone.
import { describe, expect, it } from 'vitest';
import { dedupeKey } from '../src/adapter.js';
import type { ConsumeContext } from '../src/consumer/consume-context.js';
import { idempotencyStep, STORE_UNAVAILABLE_RETRY_MS } from '../src/consumer/idempotency-step.js';
import {
  type BusEvent,
  ConfigurationError,
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryTransport,
  DecodeError,
  defineEvent,
  type Envelope,
  type IdempotencyStore,
  InProgressError,
  on,
  readDeadLetterReason,
  UnavailableError,
} from '../src/index.js';
import { deferredDelay } from '../src/retry-policy.js';
import { until } from './test-helpers.js';

const Changed = defineEvent<{ n: number }>({ type: 'item.changed', owner: 'items' });

type Call =
  | { op: 'claim'; key: string; options: unknown }
  | { op: 'complete'; key: string; options: unknown }
  | { op: 'release'; key: string };

/** An in-memory store that records what it was asked, so a test can see the options it got. */
function recordingStore(overrides: Partial<IdempotencyStore> = {}) {
  const inner = createInMemoryIdempotencyStore();
  const calls: Call[] = [];
  const store: IdempotencyStore = {
    ...inner,
    claim: (key, options) => {
      calls.push({ op: 'claim', key, options });
      return (overrides.claim ?? inner.claim)(key, options);
    },
    complete: (key, token, options) => {
      calls.push({ op: 'complete', key, options });
      return (overrides.complete ?? inner.complete)(key, token, options);
    },
    release: (key, token) => {
      calls.push({ op: 'release', key });
      return (overrides.release ?? inner.release)(key, token);
    },
  };
  return { store, calls };
}

const never = <T>() => new Promise<T>(() => undefined);

/** A context as the routing step leaves it, for running the step on its own. */
function contextFor(
  envelope: Partial<Envelope>,
  dedupe?: 'message-id' | 'entity-version' | 'none',
): ConsumeContext {
  return {
    delivery: { attributes: {}, body: new Uint8Array(), attempt: 1, origin: { destination: 't' } },
    subscription: 'mirror',
    system: 'test',
    envelope: {
      type: 'item.changed',
      specversion: '1.0',
      source: 'items',
      ...envelope,
    } as Envelope,
    registration:
      dedupe === undefined
        ? undefined
        : ({ dedupe } as unknown as NonNullable<ConsumeContext['registration']>),
    outcome: undefined,
  };
}

async function mirror(options: { dedupe: 'entity-version' | 'none'; store?: IdempotencyStore }) {
  const transport = createInMemoryTransport();
  const events: BusEvent[] = [];
  const applied: number[] = [];
  const store = options.store ?? createInMemoryIdempotencyStore();
  await createBus({
    service: 'mirror',
    transport,
    observers: [(e) => events.push(e)],
    idempotency: { store },
  }).subscribe({
    handlers: [on(Changed, (m) => void applied.push(m.data.n), { dedupe: options.dedupe })],
  });
  const outcomes = () => events.flatMap((e) => (e.kind === 'consumed' ? [e.outcome] : []));
  return { transport, applied, outcomes, producer: createBus({ service: 'items', transport }) };
}

describe('entity-version dedupe', () => {
  it('applies each newer version once and skips older and repeated versions as stale', async () => {
    const { applied, outcomes, producer } = await mirror({ dedupe: 'entity-version' });
    const versions = [1, 3, 2, 3, 4];
    for (const [i, version] of versions.entries()) {
      await producer.publish(Changed, { n: version }, { id: `c-${i}`, subject: 'i-1', version });
      await until(() => outcomes().length === i + 1);
    }
    expect(applied).toEqual([1, 3, 4]);
    expect(outcomes()).toEqual(['handled', 'handled', 'stale', 'stale', 'handled']);
  });

  it('tells entities apart by subject, else by partition key', async () => {
    const { applied, outcomes, producer } = await mirror({ dedupe: 'entity-version' });
    await producer.publish(Changed, { n: 1 }, { id: 'a', subject: 'i-1', version: 5 });
    await producer.publish(Changed, { n: 2 }, { id: 'b', subject: 'i-2', version: 1 });
    await producer.publish(Changed, { n: 3 }, { id: 'c', partitionKey: 'i-3', version: 1 });
    await producer.publish(Changed, { n: 4 }, { id: 'd', partitionKey: 'i-3', version: 1 });
    await until(() => outcomes().length === 4);
    expect(applied).toEqual([1, 2, 3]);
    expect(outcomes()).toEqual(['handled', 'handled', 'handled', 'stale']);
  });

  it('dead-letters a message without an entity or a version at once, saying which is missing', async () => {
    const { transport, applied, producer } = await mirror({ dedupe: 'entity-version' });
    await producer.publish(Changed, { n: 1 }, { id: 'no-entity', version: 1 });
    await producer.publish(Changed, { n: 2 }, { id: 'no-version', subject: 'i-1' });
    await until(() => transport.broker.deadLetters('mirror').length === 2);
    expect(applied).toEqual([]);
    const reasons = transport.broker
      .deadLetters('mirror')
      .map((d) => readDeadLetterReason(d.headers));
    expect(reasons).toEqual([
      expect.objectContaining({
        code: 'EDA_DECODE',
        attempts: 1,
        message:
          'Message no-entity ("item.changed") is handled with entity-version dedupe but has no subject or partitionkey.',
      }),
      expect.objectContaining({
        code: 'EDA_DECODE',
        attempts: 1,
        message:
          'Message no-version ("item.changed") is handled with entity-version dedupe but has no version.',
      }),
    ]);
  });

  it('refuses a key for a message that lacks only one of entity and version', () => {
    const base = { type: 't', specversion: '1.0', source: 's', id: 'x' } as Envelope;
    expect(() => dedupeKey('sub', { ...base, version: 1 }, 'entity-version')).toThrow(DecodeError);
    expect(() => dedupeKey('sub', { ...base, subject: 'e' }, 'entity-version')).toThrow(
      DecodeError,
    );
    expect(dedupeKey('sub', { ...base, subject: 'e', version: 0 }, 'entity-version')).toEqual({
      key: 'sub:entity:s:e',
      version: 0,
    });
  });
});

describe('dedupe keys', () => {
  it('percent-encode % as %25 and : as %3A, so no two sources or ids share a key', () => {
    const key = (source: string, id: string) =>
      dedupeKey('s:1', { type: 't', specversion: '1.0', source, id } as Envelope, 'message-id').key;
    expect(key('a%b:c', 'x')).toBe('s%3A1:msg:a%25b%3Ac:x');
    const sources = ['a%', 'a:', 'a', 'a%25', 'a%3A'];
    expect(new Set(sources.map((s) => key(s, 'x'))).size).toBe(sources.length);
  });
});

describe("dedupe: 'none'", () => {
  it('runs the handler for every copy and never asks the store', async () => {
    const { store, calls } = recordingStore();
    const { applied, outcomes, producer } = await mirror({ dedupe: 'none', store });
    await producer.publish(Changed, { n: 1 }, { id: 'same' });
    await producer.publish(Changed, { n: 1 }, { id: 'same' });
    await until(() => outcomes().length === 2);
    expect(applied).toEqual([1, 1]);
    expect(outcomes()).toEqual(['handled', 'handled']);
    expect(calls).toEqual([]);
  });
});

describe('what the store is asked', () => {
  it('claims with the default 60 s lease and completes with the default 7-day retention (message id)', async () => {
    const { store, calls } = recordingStore();
    const step = idempotencyStep({ store }, () => undefined);
    await step(contextFor({ id: 'm-1' }, 'message-id'), async () => undefined);
    expect(calls).toStrictEqual([
      { op: 'claim', key: 'mirror:msg:items:m-1', options: { leaseMs: 60_000 } },
      {
        op: 'complete',
        key: 'mirror:msg:items:m-1',
        options: { retentionMs: 7 * 24 * 3600 * 1000 },
      },
    ]);
  });

  it('passes the entity version to the claim and the completion, with the configured lease and retention', async () => {
    const { store, calls } = recordingStore();
    const step = idempotencyStep({ store, leaseMs: 1234, retentionMs: 5678 }, () => undefined);
    await step(
      contextFor({ id: 'm-1', subject: 'i-1', version: 7 }, 'entity-version'),
      async () => {
        /* handled */
      },
    );
    expect(calls).toStrictEqual([
      { op: 'claim', key: 'mirror:entity:items:i-1', options: { leaseMs: 1234, version: 7 } },
      {
        op: 'complete',
        key: 'mirror:entity:items:i-1',
        options: { retentionMs: 5678, version: 7 },
      },
    ]);
  });

  it('dedupes by message id when no handler registration chose a mode', async () => {
    const { store, calls } = recordingStore();
    const step = idempotencyStep({ store }, () => undefined);
    const context = contextFor({ id: 'm-2' });
    let ran = 0;
    const handler = async () => {
      ran += 1;
    };
    await step(context, handler);
    const again = contextFor({ id: 'm-2' });
    await step(again, handler);
    expect(ran).toBe(1);
    expect(again.outcome).toBe('duplicate');
    expect(calls[0]).toMatchObject({ op: 'claim', key: 'mirror:msg:items:m-2' });
  });

  it('releases the claim when the handler fails, so the retry runs', async () => {
    const { store, calls } = recordingStore();
    const step = idempotencyStep({ store }, () => undefined);
    const boom = new Error('handler failed');
    await expect(
      step(contextFor({ id: 'm-3' }, 'message-id'), () => Promise.reject(boom)),
    ).rejects.toBe(boom);
    expect(calls.map((c) => c.op)).toEqual(['claim', 'release']);
    let ran = false;
    await step(contextFor({ id: 'm-3' }, 'message-id'), async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('reports a claim held elsewhere as in progress, naming the message and the subscription', async () => {
    const { store } = recordingStore();
    const step = idempotencyStep({ store, leaseMs: 1000 }, () => undefined);
    await store.claim('mirror:msg:items:m-4', { leaseMs: 1000 });
    const error = await step(contextFor({ id: 'm-4' }, 'message-id'), async () => {
      throw new Error('must not run');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InProgressError);
    const { retryAfterMs, message } = error as InProgressError;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(1200);
    expect(message).toBe(
      `Message m-4 is being handled by another consumer of "mirror"; looking again in ${retryAfterMs} ms (a dead holder's claim frees itself when its lease runs out).`,
    );
  });
});

describe('a store that does not answer', () => {
  it('fails the claim after timeoutMs with an UnavailableError that names the call (fail-closed by default)', async () => {
    const { store } = recordingStore({ claim: never });
    const step = idempotencyStep({ store, timeoutMs: 20 }, () => undefined);
    let ran = false;
    const error = await step(contextFor({ id: 'm-5' }, 'message-id'), async () => {
      ran = true;
    }).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toBe(
      `Idempotency store did not answer a claim within 20 ms. The message waits ${STORE_UNAVAILABLE_RETRY_MS} ms and is tried again, without counting a delivery.`,
    );
    // Deferred: about a second, never the delivery budget.
    const wait = (error as UnavailableError).retryAfterMs!;
    expect(wait).toBeGreaterThanOrEqual(STORE_UNAVAILABLE_RETRY_MS);
    expect(wait).toBeLessThanOrEqual(STORE_UNAVAILABLE_RETRY_MS * 1.2);
    expect(deferredDelay(error)).toBe(wait);
  });

  it('passes a store refusal that is not unavailability as it is, counted by the retry policy', async () => {
    const refusal = new ConfigurationError('WRONGTYPE');
    const { store } = recordingStore({ claim: () => Promise.reject(refusal) });
    const step = idempotencyStep({ store }, () => undefined);
    const error = await step(contextFor({ id: 'm-5b' }, 'message-id'), async () => undefined).catch(
      (e: unknown) => e,
    );
    expect(error).toBe(refusal);
    expect(deferredDelay(error)).toBeUndefined();
  });

  it('runs the handler without dedupe when the claim hangs and the policy is fail-open', async () => {
    const { store } = recordingStore({ claim: never });
    const step = idempotencyStep({ store, timeoutMs: 20, onUnavailable: 'fail-open' }, () => {
      throw new Error('no lease to lose');
    });
    let ran = false;
    await step(contextFor({ id: 'm-6' }, 'message-id'), async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('fails a completion that hangs, naming it, so the message is retried', async () => {
    const { store } = recordingStore({ complete: never });
    const step = idempotencyStep({ store, timeoutMs: 20 }, () => undefined);
    await expect(
      step(contextFor({ id: 'm-7' }, 'message-id'), async () => undefined),
    ).rejects.toSatisfy(
      (error: unknown) =>
        (error as Error).message ===
          `Idempotency store did not answer a completion within 20 ms. The message waits ${STORE_UNAVAILABLE_RETRY_MS} ms and is tried again, without counting a delivery.` &&
        deferredDelay(error) !== undefined,
    );
  });

  it('still rethrows the handler error when the release after it hangs', async () => {
    const { store, calls } = recordingStore({ release: never });
    const step = idempotencyStep({ store, timeoutMs: 20 }, () => undefined);
    const boom = new Error('handler failed');
    await expect(
      step(contextFor({ id: 'm-8' }, 'message-id'), () => Promise.reject(boom)),
    ).rejects.toBe(boom);
    expect(calls.map((c) => c.op)).toEqual(['claim', 'release']);
  });
});
