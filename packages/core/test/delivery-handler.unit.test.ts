// The consumer pipeline of one subscription, driven delivery by delivery: which disposition
// each outcome gets, how often the handler runs, and what observers are told.
import { describe, expect, it } from 'vitest';
import { createRetryPolicy } from '../src/adapter.js';
import {
  type ConsumeMiddleware,
  createInMemoryIdempotencyStore,
  createInMemoryPayloadStore,
  DecodeError,
  defineEvent,
  formatDataRef,
  on,
} from '../src/index.js';
import { deliveryOf, pipeline } from './delivery-fixtures.js';

const Tick = defineEvent<{ n: number }>({ type: 'tick', owner: 'clock' });
const utf8 = new TextEncoder();

describe('delivery handler', () => {
  it('acks a handled message and reports it consumed with its attempt', async () => {
    const seen: unknown[] = [];
    const { handle, events } = pipeline([on(Tick, (m, c) => void seen.push([m.data, c]))]);
    expect(await handle(deliveryOf({}, { n: 5 }, 2))).toEqual({ type: 'ack' });
    expect(seen).toEqual([
      [{ n: 5 }, { attempt: 2, subscription: 'sub', origin: deliveryOf().origin }],
    ]);
    expect(events).toEqual([
      {
        kind: 'consumed',
        service: 'svc',
        subscription: 'sub',
        message: expect.objectContaining({ id: 'm-1', type: 'tick', data: { n: 5 } }),
        outcome: 'handled',
        attempt: 2,
        startedAt: expect.any(Number),
      },
    ]);
  });

  it('dead-letters an undecodable message at once, without running the handler or retrying', async () => {
    let calls = 0;
    const { handle, events } = pipeline([on(Tick, () => void calls++)]);
    const delivery = { ...deliveryOf(), body: utf8.encode('{not json') };
    const disposition = await handle(delivery);
    expect(disposition).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_DECODE', errorType: 'DecodeError', attempts: 1, subscription: 'sub' },
    });
    expect(calls).toBe(0);
    // The attributes were readable, so the report names the message.
    expect(events).toEqual([
      {
        kind: 'dead-lettered',
        service: 'svc',
        subscription: 'sub',
        message: expect.objectContaining({ id: 'm-1' }),
        reason: (disposition as { reason: unknown }).reason,
      },
    ]);
  });

  it('runs the handler 1 + immediateRetries times, then asks for a delayed retry', async () => {
    let calls = 0;
    const { handle, events } = pipeline(
      [
        on(Tick, () => {
          calls += 1;
          throw new Error('flaky');
        }),
      ],
      { retryPolicy: createRetryPolicy({ immediateRetries: 2, initialDelayMs: 100, jitter: 0 }) },
    );
    expect(await handle(deliveryOf({}, { n: 1 }, 2))).toEqual({
      type: 'retry',
      delayMs: 200,
      reason: 'Error: flaky',
    });
    expect(calls).toBe(3);
    expect(events).toEqual([
      {
        kind: 'retry',
        service: 'svc',
        subscription: 'sub',
        message: expect.objectContaining({ id: 'm-1' }),
        attempt: 2,
        delayMs: 200,
        deferred: false,
        reason: 'Error: flaky',
      },
    ]);
  });

  it('acks when an immediate retry succeeds, and each try sees the same decoded data', async () => {
    const OldTick = defineEvent<{ count: number }>({
      type: 'tick',
      owner: 'clock',
      version: 2,
      upcasters: { 1: (data) => ({ count: (data as { n: number }).n * 10 }) },
    });
    const seen: unknown[] = [];
    const { handle, events } = pipeline([
      on(OldTick, (m) => {
        seen.push(m.data);
        if (seen.length === 1) throw new Error('first try fails');
      }),
    ]);
    const v1 = deliveryOf({ dataschema: 'urn:eda:tick:v1' }, { n: 4 });
    expect(await handle(v1)).toEqual({ type: 'ack' });
    // Upcast once per try from the decoded v1 data, never from the previous try's result.
    expect(seen).toEqual([{ count: 40 }, { count: 40 }]);
    expect(events.map((e) => e.kind)).toEqual(['consumed']);
  });

  it('does not retry in process an error that cannot succeed, and dead-letters it', async () => {
    let calls = 0;
    const { handle, events } = pipeline([
      on(Tick, () => {
        calls += 1;
        throw new DecodeError('data is nonsense');
      }),
    ]);
    expect(await handle(deliveryOf())).toEqual({
      type: 'dead-letter',
      reason: {
        code: 'EDA_DECODE',
        errorType: 'DecodeError',
        message: 'data is nonsense',
        attempts: 1,
        subscription: 'sub',
      },
    });
    expect(calls).toBe(1);
    expect(events.map((e) => e.kind)).toEqual(['dead-lettered']);
  });

  it('dead-letters a retryable failure on the last delivery after its immediate retries', async () => {
    let calls = 0;
    const { handle } = pipeline([
      on(Tick, () => {
        calls += 1;
        throw new Error('still down');
      }),
    ]);
    const disposition = await handle(deliveryOf({}, { n: 1 }, 3));
    expect(disposition).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_HANDLER', message: 'still down', attempts: 3 },
    });
    expect(calls).toBe(3);
  });

  it('acks an unhandled type as ignored when told to, and dead-letters it otherwise', async () => {
    const other = deliveryOf({ type: 'other.thing' });
    const ignoring = pipeline([on(Tick, () => undefined)], { unhandled: 'ignore' });
    expect(await ignoring.handle(other)).toEqual({ type: 'ack' });
    expect(ignoring.events).toMatchObject([{ kind: 'consumed', outcome: 'ignored' }]);
    const strict = pipeline([on(Tick, () => undefined)]);
    expect(await strict.handle(other)).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_UNHANDLED' },
    });
  });

  it('skips a duplicate with an idempotency store and reports it as such', async () => {
    let calls = 0;
    const { handle, events } = pipeline([on(Tick, () => void calls++)], {
      idempotency: { store: createInMemoryIdempotencyStore() },
    });
    expect(await handle(deliveryOf())).toEqual({ type: 'ack' });
    expect(await handle(deliveryOf())).toEqual({ type: 'ack' });
    expect(calls).toBe(1);
    expect(events.map((e) => e.kind === 'consumed' && e.outcome)).toEqual(['handled', 'duplicate']);
  });

  it('reports a lost lease with the service, subscription and message', async () => {
    // A late completion is still recorded when nobody took the key over, so make the store
    // answer as after a real takeover: another consumer's claim holds the key.
    const store = { ...createInMemoryIdempotencyStore(), complete: async () => false };
    const { handle, events } = pipeline([on(Tick, () => undefined)], {
      idempotency: { store },
    });
    await handle(deliveryOf());
    expect(events.find((e) => e.kind === 'lease-lost')).toEqual({
      kind: 'lease-lost',
      service: 'svc',
      subscription: 'sub',
      message: expect.objectContaining({ id: 'm-1', type: 'tick' }),
    });
  });

  it('resolves a claim-checked payload from the payload store, within maxPayloadBytes', async () => {
    const store = createInMemoryPayloadStore();
    const bytes = utf8.encode(JSON.stringify({ n: 9 }));
    const ref = await store.put(bytes, { contentType: 'application/json' });
    const seen: unknown[] = [];
    const ok = pipeline([on(Tick, (m) => void seen.push(m.data))], { payloadStore: store });
    const claimChecked = { ...deliveryOf({ dataref: formatDataRef(ref) }), body: new Uint8Array() };
    expect(await ok.handle(claimChecked)).toEqual({ type: 'ack' });
    expect(seen).toEqual([{ n: 9 }]);
    const capped = pipeline([on(Tick, (m) => void seen.push(m.data))], {
      payloadStore: store,
      maxPayloadBytes: bytes.byteLength - 1,
    });
    expect(await capped.handle(claimChecked)).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_PAYLOAD_TOO_LARGE' },
    });
    expect(seen).toHaveLength(1);
  });

  it('runs user middleware after routing, around the handler', async () => {
    const order: string[] = [];
    const middleware: ConsumeMiddleware = async (context, next) => {
      order.push(`before ${context.registration?.definition.type}`);
      await next();
      order.push(`after ${context.outcome}`);
    };
    const { handle } = pipeline([on(Tick, () => void order.push('handler'))], {
      middleware: [middleware],
    });
    await handle(deliveryOf());
    expect(order).toEqual(['before tick', 'handler', 'after handled']);
  });

  it('runs at most handlerSlots handlers at once', async () => {
    let running = 0;
    let peak = 0;
    const { handle } = pipeline(
      [
        on(Tick, async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 10));
          running -= 1;
        }),
      ],
      { handlerSlots: 2 },
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => handle(deliveryOf({ id: `m-${i}` }))),
    );
    expect(results.every((r) => r.type === 'ack')).toBe(true);
    expect(peak).toBe(2);
  });
});
