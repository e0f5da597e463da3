// Claim-check resolution on the consumer side: the handler sees the stored payload, decoded by
// the content type its reference names, and a reference that cannot be read settles the
// delivery by why (no store or bad bytes: dead-letter; store down: retry).
import { describe, expect, it } from 'vitest';
import { parseAttributes } from '../src/adapter.js';
import { claimCheckStep } from '../src/consumer/claim-check-step.js';
import {
  createCodecs,
  createInMemoryPayloadStore,
  DecodeError,
  defineEvent,
  formatDataRef,
  on,
  PayloadError,
  type PayloadStore,
} from '../src/index.js';
import { deliveryOf, pipeline } from './delivery-fixtures.js';

const Tick = defineEvent<{ n: number }>({ type: 'tick', owner: 'clock' });
const utf8 = new TextEncoder();

async function storedAs(bytes: Uint8Array, contentType: string) {
  const store = createInMemoryPayloadStore();
  const ref = await store.put(bytes, { contentType });
  // The transport hands over an empty body: the data lives in the store.
  const delivery = { ...deliveryOf({ dataref: formatDataRef(ref) }), body: new Uint8Array() };
  return { store, ref, delivery };
}

function recording(options: Parameters<typeof pipeline>[1] = {}) {
  const seen: Array<{ data: unknown; datacontenttype: string | undefined }> = [];
  const { handle } = pipeline(
    [on(Tick, (m) => void seen.push({ data: m.data, datacontenttype: m.datacontenttype }))],
    options,
  );
  return { handle, seen };
}

describe('claim-check step', () => {
  it('passes a message without a reference through with its inline data', async () => {
    const { handle, seen } = recording();
    expect(await handle(deliveryOf({}, { n: 2 }))).toEqual({ type: 'ack' });
    expect(seen).toEqual([{ data: { n: 2 }, datacontenttype: 'application/json' }]);
  });

  it('hands the handler the stored payload, decoded by the content type of the reference', async () => {
    const json = await storedAs(utf8.encode('{"n":41}'), 'application/json');
    const { handle, seen } = recording({ payloadStore: json.store });
    expect(await handle(json.delivery)).toEqual({ type: 'ack' });
    const raw = await storedAs(new Uint8Array([1, 2, 3]), 'application/octet-stream');
    const rawConsumer = recording({ payloadStore: raw.store });
    expect(await rawConsumer.handle(raw.delivery)).toEqual({ type: 'ack' });
    expect(seen).toEqual([{ data: { n: 41 }, datacontenttype: 'application/json' }]);
    expect(rawConsumer.seen).toEqual([
      { data: new Uint8Array([1, 2, 3]), datacontenttype: 'application/octet-stream' },
    ]);
  });

  it('dead-letters a reference when the subscription has no payload store, saying what to configure', async () => {
    const { delivery } = await storedAs(utf8.encode('{"n":1}'), 'application/json');
    const { handle, seen } = recording();
    expect(await handle(delivery)).toEqual({
      type: 'dead-letter',
      reason: {
        code: 'EDA_DECODE',
        errorType: 'DecodeError',
        message:
          'Message m-1 ("tick") carries a claim-check reference but subscription "sub" has no payload store: configure claimCheck on the bus.',
        attempts: 1,
        subscription: 'sub',
      },
    });
    expect(seen).toEqual([]);
  });

  it('dead-letters a stored payload that is not valid for its content type', async () => {
    const { store, delivery } = await storedAs(utf8.encode('{"n":'), 'application/json');
    const { handle, seen } = recording({ payloadStore: store });
    const disposition = await handle(delivery);
    expect(disposition).toMatchObject({
      type: 'dead-letter',
      reason: {
        code: 'EDA_DECODE',
        message: expect.stringMatching(
          /^Claim-checked payload of message m-1 is not valid application\/json: .+/,
        ),
      },
    });
    expect(seen).toEqual([]);
  });

  it('keeps the codec error as the cause of the DecodeError, for logs', async () => {
    const { store, delivery } = await storedAs(utf8.encode('{"n":'), 'application/json');
    const step = claimCheckStep({ store, codecs: createCodecs() });
    const context = {
      delivery,
      subscription: 'sub',
      system: 'memory',
      envelope: parseAttributes(delivery.attributes),
      registration: undefined,
      outcome: undefined,
    };
    const error = await step(context, () => Promise.resolve()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).cause).toBeInstanceOf(SyntaxError);
  });

  it('dead-letters a forged or missing reference, and retries while the store is down', async () => {
    const { store, ref, delivery } = await storedAs(utf8.encode('{"n":1}'), 'application/json');
    const forged = { ...delivery, attributes: { ...delivery.attributes, dataref: 'nonsense' } };
    expect(await recording({ payloadStore: store }).handle(forged)).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_PAYLOAD_FORGED' },
    });
    store.objects.delete(ref.key);
    expect(await recording({ payloadStore: store }).handle(delivery)).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_PAYLOAD_MISSING' },
    });
    const down: PayloadStore = {
      ...store,
      get: () =>
        Promise.reject(new PayloadError('EDA_PAYLOAD_UNAVAILABLE', 'object store unreachable')),
    };
    expect(await recording({ payloadStore: down }).handle(delivery)).toMatchObject({
      type: 'retry',
      reason: 'PayloadError: object store unreachable',
    });
  });

  it('refuses a payload above maxPayloadBytes and accepts one exactly at it', async () => {
    const bytes = utf8.encode('{"n":7}');
    const { store, delivery } = await storedAs(bytes, 'application/json');
    const atLimit = recording({ payloadStore: store, maxPayloadBytes: bytes.byteLength });
    expect(await atLimit.handle(delivery)).toEqual({ type: 'ack' });
    expect(atLimit.seen).toEqual([{ data: { n: 7 }, datacontenttype: 'application/json' }]);
    const below = recording({ payloadStore: store, maxPayloadBytes: bytes.byteLength - 1 });
    expect(await below.handle(delivery)).toMatchObject({
      type: 'dead-letter',
      reason: { code: 'EDA_PAYLOAD_TOO_LARGE' },
    });
  });
});
