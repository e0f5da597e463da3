// Dedupe keys and entity versions: keys of different messages never collide, and a version
// outside the CloudEvents Integer range is refused loudly instead of making later updates stale.
import { describe, expect, it } from 'vitest';
import { dedupeKey } from '../src/adapter.js';
import { isEntityVersion } from '../src/envelope.js';
import {
  createBus,
  createInMemoryIdempotencyStore,
  createInMemoryTransport,
  defineEvent,
  type Envelope,
  jsonCodec,
  MAX_ENTITY_VERSION,
  on,
  readDeadLetterReason,
} from '../src/index.js';
import { until } from './test-helpers.js';

const envelope = (attributes: Partial<Envelope>) =>
  ({ type: 't', specversion: '1.0', ...attributes }) as Envelope;

describe('dedupe keys', () => {
  it('keep source and id apart: a colon in one never makes two messages share a key', () => {
    const a = dedupeKey('sub', envelope({ source: 'a:b', id: 'c' }), 'message-id').key;
    const b = dedupeKey('sub', envelope({ source: 'a', id: 'b:c' }), 'message-id').key;
    expect(a).not.toBe(b);
    const encoded = dedupeKey('sub', envelope({ source: 'a%3Ab', id: 'c' }), 'message-id').key;
    expect(encoded, 'a literal %3A is not an encoded colon').not.toBe(a);
    const entityA = dedupeKey(
      'sub',
      envelope({ source: 'a:b', id: '1', subject: 'c', version: 1 }),
      'entity-version',
    ).key;
    const entityB = dedupeKey(
      'sub',
      envelope({ source: 'a', id: '1', subject: 'b:c', version: 1 }),
      'entity-version',
    ).key;
    expect(entityA).not.toBe(entityB);
  });

  it('leave keys without colons or percent signs unchanged, with the subscription before the first colon', () => {
    expect(dedupeKey('billing', envelope({ source: 'orders', id: 'x-1' }), 'message-id')).toEqual({
      key: 'billing:msg:orders:x-1',
    });
    expect(
      dedupeKey('bill:ing', envelope({ source: 'o', id: 'i' }), 'message-id').key.split(':')[0],
    ).toBe('bill%3Aing');
  });
});

describe('entity versions', () => {
  it('accept 0..2^31-1 only', () => {
    expect(MAX_ENTITY_VERSION).toBe(2 ** 31 - 1);
    expect([0, 1, MAX_ENTITY_VERSION].every(isEntityVersion)).toBe(true);
    expect([-1, 1.5, MAX_ENTITY_VERSION + 1, 2 ** 53 - 1, Number.NaN].some(isEntityVersion)).toBe(
      false,
    );
  });

  it('publishing a version beyond 2^31-1 is refused with a clear error', async () => {
    const Changed = defineEvent<{ n: number }>({ type: 'item.changed', owner: 'items' });
    const bus = createBus({ service: 'items', transport: createInMemoryTransport() });
    await expect(
      bus.publish(Changed, { n: 1 }, { subject: 'i-1', version: 2 ** 40 }),
    ).rejects.toThrow(/0 to 2147483647 \(the CloudEvents Integer range\)/);
  });

  it('a received version beyond 2^31-1 is dead-lettered with its reason, and later versions still apply', async () => {
    const Changed = defineEvent<{ n: number }>({ type: 'item.changed', owner: 'items' });
    const transport = createInMemoryTransport();
    const applied: number[] = [];
    await createBus({
      service: 'mirror',
      transport,
      idempotency: { store: createInMemoryIdempotencyStore() },
    }).subscribe({
      handlers: [on(Changed, (m) => void applied.push(m.data.n), { dedupe: 'entity-version' })],
    });
    const raw = (id: string, version: number, n: number) => ({
      attributes: {
        id,
        type: 'item.changed',
        source: 'items',
        specversion: '1.0' as const,
        kind: 'event' as const,
        subject: 'i-1',
        partitionkey: 'i-1',
        datacontenttype: 'application/json',
        version,
      },
      body: jsonCodec.encode({ n }),
    });
    await transport.publish([raw('huge', 2 ** 40, 1), raw('next', 2, 2)]);
    await until(() => applied.length === 1);
    expect(applied, 'the next version applies (not stale behind the huge one)').toEqual([2]);
    const deadLetters = transport.broker.deadLetters('mirror');
    expect(deadLetters).toHaveLength(1);
    expect(readDeadLetterReason(deadLetters[0]!.headers)).toMatchObject({
      code: 'EDA_DECODE',
      message: expect.stringContaining('2147483647 (the CloudEvents Integer range)'),
    });
  });
});
