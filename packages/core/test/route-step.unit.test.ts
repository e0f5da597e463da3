// Routing by type: which version of the data a handler sees (upcasting, newer versions
// refused), validation, and what an unhandled type does.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { defineEvent, on } from '../src/index.js';
import { deliveryOf, pipeline } from './delivery-fixtures.js';

const Tick = defineEvent<{ n: number }>({ type: 'tick', owner: 'clock' });

/** `tick` at version 3: v1 `{ n }` -> v2 `{ count }` -> v3 `{ count, unit }`. */
const TickV3 = defineEvent<{ count: number; unit: string }>({
  type: 'tick',
  owner: 'clock',
  version: 3,
  upcasters: {
    1: (data) => ({ count: (data as { n: number }).n }),
    2: (data) => ({ ...(data as object), unit: 'seconds' }),
  },
});

async function handledData(
  definition: typeof TickV3,
  dataschema: string | undefined,
  data: unknown,
  upcasters = {},
) {
  const seen: unknown[] = [];
  const { handle } = pipeline([on(definition, (m) => void seen.push(m.data), { upcasters })]);
  const disposition = await handle(
    deliveryOf(dataschema === undefined ? {} : { dataschema }, data),
  );
  return { disposition, seen };
}

describe('route step', () => {
  it('hands current-version data to the handler unchanged', async () => {
    const { seen } = await handledData(TickV3, 'urn:eda:tick:v3', { count: 2, unit: 'ms' });
    expect(seen).toEqual([{ count: 2, unit: 'ms' }]);
  });

  it('takes a message without dataschema, or with a foreign one, as the current version', async () => {
    expect((await handledData(TickV3, undefined, { count: 1, unit: 'h' })).seen).toEqual([
      { count: 1, unit: 'h' },
    ]);
    expect(
      (await handledData(TickV3, 'https://schemas.example/tick.json', { count: 1, unit: 'h' }))
        .seen,
    ).toEqual([{ count: 1, unit: 'h' }]);
  });

  it('upcasts an older version step by step to the current one', async () => {
    expect((await handledData(TickV3, 'urn:eda:tick:v1', { n: 7 })).seen).toEqual([
      { count: 7, unit: 'seconds' },
    ]);
    expect((await handledData(TickV3, 'urn:eda:tick:v2', { count: 8 })).seen).toEqual([
      { count: 8, unit: 'seconds' },
    ]);
  });

  it("prefers the consumer's own upcaster over the definition's", async () => {
    const { seen } = await handledData(
      TickV3,
      'urn:eda:tick:v2',
      { count: 8 },
      { 2: (data: unknown) => ({ ...(data as object), unit: 'minutes' }) },
    );
    expect(seen).toEqual([{ count: 8, unit: 'minutes' }]);
  });

  it('dead-letters a newer version than the consumer knows, naming both versions', async () => {
    const { disposition, seen } = await handledData(TickV3, 'urn:eda:tick:v4', { whatever: 1 });
    expect(seen).toEqual([]);
    expect(disposition).toEqual({
      type: 'dead-letter',
      reason: {
        code: 'EDA_DECODE',
        errorType: 'DecodeError',
        message:
          'Message m-1 is "tick" v4, newer than v3 that this consumer knows: deploy the new definition to read it.',
        attempts: 1,
        subscription: 'sub',
      },
    });
  });

  it('dead-letters an older version that has no upcaster, naming the missing step', async () => {
    const Gap = defineEvent<{ count: number }>({
      type: 'tick',
      owner: 'clock',
      version: 3,
      upcasters: { 2: (data) => data },
    });
    const seen: unknown[] = [];
    const { handle } = pipeline([on(Gap, (m) => void seen.push(m.data))]);
    const disposition = await handle(deliveryOf({ dataschema: 'urn:eda:tick:v1' }, { n: 1 }));
    expect(seen).toEqual([]);
    expect(disposition).toMatchObject({
      type: 'dead-letter',
      reason: {
        code: 'EDA_DECODE',
        message: 'Message m-1 is "tick" v1 and there is no upcaster from v1 to v2.',
      },
    });
  });

  it('validates the upcast data against the schema and hands over its output', async () => {
    const Checked = defineEvent({
      type: 'tick',
      owner: 'clock',
      version: 2,
      schema: v.object({
        count: v.pipe(v.number(), v.minValue(0)),
        unit: v.optional(v.string(), 's'),
      }),
      upcasters: { 1: (data) => ({ count: (data as { n: number }).n }) },
    });
    const seen: unknown[] = [];
    const { handle } = pipeline([on(Checked, (m) => void seen.push(m.data))]);
    expect(await handle(deliveryOf({ dataschema: 'urn:eda:tick:v1' }, { n: 3 }))).toEqual({
      type: 'ack',
    });
    expect(seen).toEqual([{ count: 3, unit: 's' }]);
    expect(await handle(deliveryOf({ dataschema: 'urn:eda:tick:v1' }, { n: -1 }))).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_VALIDATION', message: expect.stringContaining('count') },
    });
    expect(seen).toHaveLength(1);
  });

  it('dead-letters an unhandled type naming the subscription, the type and what it handles', async () => {
    const Tock = defineEvent<{ n: number }>({ type: 'tock', owner: 'clock' });
    const { handle } = pipeline([on(Tick, () => undefined), on(Tock, () => undefined)]);
    expect(await handle(deliveryOf({ type: 'other.thing' }))).toEqual({
      type: 'dead-letter',
      reason: {
        code: 'EDA_UNHANDLED',
        errorType: 'UnhandledMessageError',
        message:
          'Subscription "sub" has no handler for "other.thing" (handles: tick, tock); set unhandled: \'ignore\' to skip such messages.',
        attempts: 1,
        subscription: 'sub',
      },
    });
  });

  it('ignores an unhandled type without running any handler when told to', async () => {
    let calls = 0;
    const { handle, events } = pipeline([on(Tick, () => void calls++)], { unhandled: 'ignore' });
    expect(await handle(deliveryOf({ type: 'other.thing' }))).toEqual({ type: 'ack' });
    expect(calls).toBe(0);
    expect(events).toMatchObject([{ kind: 'consumed', outcome: 'ignored' }]);
  });
});
