import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type BusEvent,
  createBus,
  createInMemoryTransport,
  defineEvent,
  on,
  readDeadLetterReason,
  ValidationError,
} from '../src/index.js';
import { until } from './test-helpers.js';

const zodSchema = z.object({
  orderId: z.string().min(1),
  amountCents: z.number().int().nonnegative(),
});
const valibotSchema = v.object({
  orderId: v.pipe(v.string(), v.minLength(1)),
  amountCents: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

describe.each([
  ['zod', zodSchema],
  ['valibot', valibotSchema],
] as const)('validation through Standard Schema (%s)', (_vendor, schema) => {
  const PaymentCompleted = defineEvent({ type: 'payment.completed', owner: 'payments', schema });

  it('refuses invalid data at publish with the issues, and sends nothing', async () => {
    const transport = createInMemoryTransport();
    const payments = createBus({ service: 'payments', transport });
    const error = await payments
      .publish(PaymentCompleted, { orderId: '', amountCents: -1 })
      .catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues.map((i) => i.path?.join('.'))).toEqual([
      'orderId',
      'amountCents',
    ]);
    expect(transport.broker.topic('payment.completed').partitions.flat()).toHaveLength(0);
  });

  it('dead-letters invalid data arriving at a consumer with the validation issues, and keeps consuming', async () => {
    const transport = createInMemoryTransport();
    const payments = createBus({ service: 'payments', transport });
    const inventory = createBus({ service: 'inventory', transport });
    const handled: string[] = [];
    await inventory.subscribe({
      handlers: [on(PaymentCompleted, ({ data }) => void handled.push(data.orderId))],
    });
    // A foreign or buggy producer that skipped validation.
    const Unchecked = defineEvent<unknown>({ type: 'payment.completed', owner: 'payments' });
    await payments.publish(Unchecked, { orderId: 42 });
    await payments.publish(PaymentCompleted, { orderId: 'o-2', amountCents: 5 });
    await until(
      () => handled.length === 1 && transport.broker.deadLetters('inventory').length === 1,
    );
    const reason = readDeadLetterReason(transport.broker.deadLetters('inventory')[0]!.headers);
    expect(reason?.code).toBe('EDA_VALIDATION');
    expect(reason?.attempts).toBe(1);
    expect(reason?.message).toMatch(/orderId/);
    expect(handled).toEqual(['o-2']);
  });
});

describe('definitions', () => {
  it('can switch validation off for hot paths', async () => {
    const Fast = defineEvent({
      type: 'fast.thing',
      owner: 'svc',
      schema: zodSchema,
      validate: false,
    });
    const transport = createInMemoryTransport();
    const bus = createBus({ service: 'svc', transport });
    await expect(bus.publish(Fast, { orderId: '', amountCents: -1 })).resolves.toBeUndefined();
  });

  it('upcasts older versions and dead-letters unknown newer versions', async () => {
    const V1 = defineEvent<{ name: string }>({ type: 'customer.renamed', owner: 'crm' });
    const V2 = defineEvent<{ firstName: string; lastName: string }>({
      type: 'customer.renamed',
      owner: 'crm',
      version: 2,
      upcasters: {
        1: (data) => {
          const [firstName = '', lastName = ''] = (data as { name: string }).name.split(' ');
          return { firstName, lastName };
        },
      },
    });
    const V3 = defineEvent<{ fullName: string }>({
      type: 'customer.renamed',
      owner: 'crm',
      version: 3,
      upcasters: { 1: (d) => d, 2: (d) => d },
    });
    const transport = createInMemoryTransport();
    const crm = createBus({ service: 'crm', transport });
    const seen: unknown[] = [];
    await createBus({ service: 'mailing', transport }).subscribe({
      handlers: [on(V2, ({ data }) => void seen.push(data))],
    });
    await crm.publish(V1, { name: 'Ada Lovelace' });
    await crm.publish(V2, { firstName: 'Grace', lastName: 'Hopper' });
    await crm.publish(V3, { fullName: 'Alan Turing' });
    await until(() => seen.length === 2 && transport.broker.deadLetters('mailing').length === 1);
    expect(seen).toContainEqual({ firstName: 'Ada', lastName: 'Lovelace' });
    expect(seen).toContainEqual({ firstName: 'Grace', lastName: 'Hopper' });
    const reason = readDeadLetterReason(transport.broker.deadLetters('mailing')[0]!.headers);
    expect(reason?.message).toMatch(/v3, newer than v2/);
  });

  it('lets a consumer add its own upcaster', async () => {
    const V2 = defineEvent<{ total: number }>({ type: 'cart.priced', owner: 'cart', version: 2 });
    const V1 = defineEvent<{ totalCents: number }>({ type: 'cart.priced', owner: 'cart' });
    const transport = createInMemoryTransport();
    const seen: number[] = [];
    await createBus({ service: 'reports', transport }).subscribe({
      handlers: [
        on(V2, ({ data }) => void seen.push(data.total), {
          upcasters: { 1: (d) => ({ total: (d as { totalCents: number }).totalCents / 100 }) },
        }),
      ],
    });
    // The consumer's upcaster wins over one the definition has for the same version.
    const V2WithOwn = defineEvent<{ total: number }>({
      type: 'cart.priced',
      owner: 'cart',
      version: 2,
      upcasters: { 1: () => ({ total: -1 }) },
    });
    const audited: number[] = [];
    await createBus({ service: 'audit', transport }).subscribe({
      handlers: [
        on(V2WithOwn, ({ data }) => void audited.push(data.total), {
          upcasters: { 1: (d) => ({ total: (d as { totalCents: number }).totalCents }) },
        }),
      ],
    });
    await createBus({ service: 'cart', transport }).publish(V1, { totalCents: 1250 });
    await until(() => seen.length === 1 && audited.length === 1);
    expect(seen).toEqual([12.5]);
    expect(audited).toEqual([1250]);
  });

  it('routes several types in one subscription; unknown types are dead-lettered or ignored with a count', async () => {
    const A = defineEvent<{ n: number }>({ type: 'multi.a', owner: 'p' });
    const B = defineEvent<{ s: string }>({ type: 'multi.b', owner: 'p' });
    const C = defineEvent<{ x: boolean }>({ type: 'multi.c', owner: 'p' });
    const transport = createInMemoryTransport({ topicFor: () => 'multi' });
    const producer = createBus({ service: 'p', transport });
    const got: string[] = [];
    const ignored: BusEvent[] = [];
    await createBus({ service: 'strict', transport }).subscribe({
      handlers: [
        on(A, ({ data }) => void got.push(`a${data.n}`)),
        on(B, ({ data }) => void got.push(`b${data.s}`)),
      ],
    });
    await createBus({
      service: 'lenient',
      transport,
      observers: [(e) => e.kind === 'consumed' && e.outcome === 'ignored' && ignored.push(e)],
    }).subscribe({
      handlers: [on(A, () => undefined)],
      unhandled: 'ignore',
    });
    await producer.publish(A, { n: 1 });
    await producer.publish(B, { s: 'x' });
    await producer.publish(C, { x: true });
    await until(
      () =>
        got.length === 2 &&
        transport.broker.deadLetters('strict').length === 1 &&
        ignored.length === 2,
    );
    expect(got.sort()).toEqual(['a1', 'bx']);
    expect(readDeadLetterReason(transport.broker.deadLetters('strict')[0]!.headers)?.code).toBe(
      'EDA_UNHANDLED',
    );
    expect(transport.broker.deadLetters('lenient')).toHaveLength(0);
  });

  it('rejects bad definitions with clear messages', () => {
    expect(() => defineEvent({ type: 'bad type!', owner: 'x' })).toThrow(
      /Message type "bad type!" is invalid/,
    );
    expect(() => defineEvent({ type: 'ok', owner: '' })).toThrow(/needs an owner/);
    expect(() => defineEvent({ type: 'ok', owner: 'x', version: 0 })).toThrow(/version 0/);
    expect(() =>
      defineEvent({ type: 'ok', owner: 'x', version: 2, upcasters: { 2: (d) => d } }),
    ).toThrow(/upcasters read versions 1 to 1/);
  });
});
