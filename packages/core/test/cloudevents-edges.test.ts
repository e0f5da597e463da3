// CloudEvents edges of the envelope: extension attributes carried through, the entity version and
// partition key held to their ranges, and structured-mode (JSON format) deliveries decoded.
import { describe, expect, it } from 'vitest';
import {
  attributesToStrings,
  type Delivery,
  fromBinaryHeaders,
  parseAttributes,
  toBinaryHeaders,
} from '../src/adapter.js';
import { assertExtensions } from '../src/envelope.js';
import {
  ConfigurationError,
  DecodeError,
  defineEvent,
  type EnvelopeAttributes,
  jsonCodec,
  on,
  type ReceivedMessage,
} from '../src/index.js';
import { prepareMessage } from '../src/publisher/prepare-message.js';
import { pipeline } from './delivery-fixtures.js';

const required = { id: 'x', type: 't', source: 's', specversion: '1.0' };
const Tick = defineEvent<unknown>({ type: 'tick', owner: 'clock' });
const utf8 = new TextEncoder();

describe('extension attributes', () => {
  it('carries unknown attributes as extensions through binary-mode headers and back', () => {
    const attributes: EnvelopeAttributes = {
      ...required,
      specversion: '1.0',
      kind: 'event',
      extensions: { tenantid: 't-1', region2: 'eu' },
    };
    const headers = toBinaryHeaders(attributes, { prefix: 'ce_' });
    expect(headers).toMatchObject({ ce_tenantid: 't-1', ce_region2: 'eu' });
    expect(parseAttributes(fromBinaryHeaders(headers, { prefix: 'ce_' }))).toEqual(attributes);
    // No extension: no `extensions` member at all.
    expect(parseAttributes(required)).not.toHaveProperty('extensions');
  });

  it('never lets an extension stand in for an envelope attribute when writing', () => {
    const attributes = {
      ...required,
      specversion: '1.0',
      kind: 'event',
      extensions: { subject: 'forged', ok: 'yes' },
    } as EnvelopeAttributes;
    expect(attributesToStrings(attributes)).not.toHaveProperty('subject');
    expect(attributesToStrings(attributes).ok).toBe('yes');
  });

  it('refuses a received attribute name outside the CloudEvents rule', () => {
    expect(() => parseAttributes({ ...required, 'tenant-id': 'x' })).toThrow(DecodeError);
    expect(() => parseAttributes({ ...required, tenant_id: 'x' })).toThrow(
      /"tenant_id" is invalid: CloudEvents names use only lower-case letters a-z and digits 0-9/,
    );
    // Longer than the recommended 20 characters is still read: the bound binds publishers.
    expect(parseAttributes({ ...required, abcdefghijklmnopqrstuvwxyz: 'x' }).extensions).toEqual({
      abcdefghijklmnopqrstuvwxyz: 'x',
    });
  });

  it.each([
    ['TenantId', /"TenantId" is invalid/],
    ['tenant-id', /"tenant-id" is invalid/],
    ['', /"" is invalid/],
    ['a'.repeat(21), /at most 20 characters/],
    ['id', /"id" is reserved/],
    ['kind', /"kind" is reserved/],
    ['partitionkey', /"partitionkey" is reserved/],
    ['data', /"data" is reserved/],
  ])('refuses publisher extension name %j with a ConfigurationError', (name, message) => {
    expect(() => assertExtensions({ [name]: 'v' })).toThrow(ConfigurationError);
    expect(() => assertExtensions({ [name]: 'v' })).toThrow(message);
  });

  it('accepts a 20-character name and refuses a non-string value', () => {
    expect(() => assertExtensions({ ['a'.repeat(20)]: 'v', x1: '' })).not.toThrow();
    expect(() => assertExtensions({ count: 5 })).toThrow(
      /"count" has a number value: extension values are strings/,
    );
  });

  it('lets a publisher set extensions, checked before anything is sent', async () => {
    const message = await prepareMessage(
      'clock',
      { system: 'eda_memory', name: 'test' },
      jsonCodec,
      Tick,
      1,
      {
        extensions: { tenantid: 't-9' },
      },
    );
    expect(message.attributes.extensions).toEqual({ tenantid: 't-9' });
    await expect(
      prepareMessage('clock', { system: 'eda_memory', name: 'test' }, jsonCodec, Tick, 1, {
        extensions: { Bad: 'x' },
      }),
    ).rejects.toThrow(ConfigurationError);
  });
});

describe('partition key and entity version ranges', () => {
  it('refuses an empty partition key at publish and at receive', async () => {
    await expect(
      prepareMessage('clock', { system: 'eda_memory', name: 'test' }, jsonCodec, Tick, 1, {
        partitionKey: '',
      }),
    ).rejects.toThrow(/Partition key of "tick" is empty/);
    expect(() => parseAttributes({ ...required, partitionkey: '' })).toThrow(
      /partitionkey is empty/,
    );
  });

  it.each(['2147483648', '9007199254740991', '-1', '', '1e3', '0x10', ' 7', '1.5'])(
    'refuses received version %j with the CloudEvents Integer range',
    (version) => {
      expect(() => parseAttributes({ ...required, version })).toThrow(
        `Envelope version "${version}" is invalid: it must be an integer from 0 to 2147483647 (the CloudEvents Integer range).`,
      );
    },
  );

  it('reads versions 0 and 2147483647', () => {
    expect(parseAttributes({ ...required, version: '0' }).version).toBe(0);
    expect(parseAttributes({ ...required, version: '2147483647' }).version).toBe(2_147_483_647);
  });
});

/** A delivery whose body is a structured-mode event. */
function structured(
  event: unknown,
  contentType = 'application/cloudevents+json; charset=utf-8',
  beside: Record<string, string> = {},
): Delivery {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  return {
    attributes: { ...beside, datacontenttype: contentType },
    body: utf8.encode(body),
    attempt: 1,
    origin: { destination: 'tick' },
  };
}

/** Runs one delivery through a pipeline with a Tick handler; returns what the handler saw. */
async function handleOne(delivery: Delivery) {
  const seen: ReceivedMessage<unknown>[] = [];
  const { handle } = pipeline([on(Tick, (m) => void seen.push(m))]);
  const disposition = await handle(delivery);
  return { disposition, seen };
}

const event = { specversion: '1.0', id: 'e-1', source: '/clock', type: 'tick' };

describe('structured content mode (JSON format)', () => {
  it('hands the event to the handler with its attributes, extensions and JSON data', async () => {
    const { disposition, seen } = await handleOne(
      structured(
        { ...event, subject: null, tenantid: 't-1', count: 5, flag: true, data: { n: 1 } },
        undefined,
        { partitionkey: 'from-key' },
      ),
    );
    expect(disposition).toEqual({ type: 'ack' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      id: 'e-1',
      source: '/clock',
      datacontenttype: 'application/json',
      partitionkey: 'from-key',
      extensions: { tenantid: 't-1', count: '5', flag: 'true' },
      data: { n: 1 },
    });
    expect(seen[0]).not.toHaveProperty('subject');
  });

  it('decodes data_base64 by its content type and a string data of a JSON type as a string', async () => {
    const bytes = await handleOne(
      structured({
        ...event,
        datacontenttype: 'application/octet-stream',
        data_base64: Buffer.from([0, 255, 7]).toString('base64'),
      }),
    );
    expect(bytes.seen[0]?.data).toEqual(new Uint8Array([0, 255, 7]));
    const text = await handleOne(structured({ ...event, data: "I'm just a string" }));
    expect(text.seen[0]?.data).toBe("I'm just a string");
    const none = await handleOne(structured(event));
    expect(none.seen[0]?.data).toBeUndefined();
  });

  it('recognises the structured content type in any letter case', async () => {
    const { seen } = await handleOne(
      structured({ ...event, data: 1 }, 'Application/CloudEvents+JSON'),
    );
    expect(seen[0]).toMatchObject({ id: 'e-1', data: 1 });
  });

  it.each([
    ['bad JSON', '{"specversion":"1.0",', undefined, /is not valid JSON/],
    ['an array', '[]', undefined, /must be a JSON object, not an array/],
    ['no specversion', { ...event, specversion: undefined }, undefined, /"specversion" is missing/],
    ['no id', { ...event, id: undefined }, undefined, /"id" is missing/],
    ['no source', { ...event, source: undefined }, undefined, /"source" is missing/],
    ['no type', { ...event, type: undefined }, undefined, /"type" is missing/],
    ['an object attribute', { ...event, subject: {} }, undefined, /"subject" is an object/],
    ['data and data_base64', { ...event, data: 1, data_base64: 'AA==' }, undefined, /both/],
    ['bad base64', { ...event, data_base64: 'not base64!' }, undefined, /not a base64 string/],
    [
      'non-string data of a non-JSON type',
      { ...event, datacontenttype: 'text/plain', data: 5 },
      undefined,
      /must be a string/,
    ],
    [
      'a batch',
      [event],
      'application/cloudevents-batch+json',
      /Batched content mode \(application\/cloudevents-batch\+json\) is not supported/,
    ],
    ['another format', event, 'application/cloudevents+avro', /"application\/cloudevents\+avro"/],
    ['a bad version', { ...event, version: 2 ** 31 }, undefined, /CloudEvents Integer range/],
  ])(
    'dead-letters a structured event with %s, naming what is wrong',
    async (_, body, type, why) => {
      const { disposition, seen } = await handleOne(structured(body, type));
      expect(disposition).toMatchObject({
        type: 'dead-letter',
        reason: { code: 'EDA_DECODE', attempts: 1 },
      });
      expect((disposition as { reason: { message: string } }).reason.message).toMatch(why);
      expect(seen).toEqual([]);
    },
  );
});
