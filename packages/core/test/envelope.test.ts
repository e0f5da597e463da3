import { describe, expect, it } from 'vitest';
import {
  assertKeyInside,
  createRetryPolicy,
  fromBinaryHeaders,
  parseAttributes,
  toBinaryHeaders,
  uuidv7,
} from '../src/adapter.js';
import {
  createCodecs,
  DecodeError,
  EdaError,
  type EnvelopeAttributes,
  formatDataRef,
  jsonCodec,
  PayloadError,
  parseDataRef,
  ValidationError,
} from '../src/index.js';
import { dispositionForFailure } from '../src/retry-policy.js';

const attributes: EnvelopeAttributes = {
  id: 'id-1',
  type: 'order.placed',
  source: 'orders',
  specversion: '1.0',
  kind: 'event',
  datacontenttype: 'application/json',
  partitionkey: 'o-1',
  version: 7,
  correlationid: 'c-1',
};

describe('envelope and binary mode', () => {
  it('round-trips attributes through prefixed headers, with content-type in its own header', () => {
    const headers = toBinaryHeaders(attributes, {
      prefix: 'ce_',
      contentTypeHeader: 'content-type',
    });
    expect(headers).toMatchObject({
      ce_id: 'id-1',
      ce_version: '7',
      'content-type': 'application/json',
    });
    expect(headers.ce_datacontenttype).toBeUndefined();
    expect(
      parseAttributes(
        fromBinaryHeaders(
          { ...headers, 'x-other': 'ignored' },
          { prefix: 'ce_', contentTypeHeader: 'content-type' },
        ),
      ),
    ).toEqual(attributes);
  });

  it('reads AMQP-style prefixes case-insensitively', () => {
    const headers = toBinaryHeaders(attributes, { prefix: 'cloudEvents_' });
    expect(parseAttributes(fromBinaryHeaders(headers, { prefix: 'cloudevents_' }))).toEqual(
      attributes,
    );
  });

  it('names what is wrong with a bad envelope', () => {
    expect(() => parseAttributes({ id: 'x', source: 's', specversion: '1.0' })).toThrow(
      /"type" is missing/,
    );
    expect(() => parseAttributes({ id: 'x', type: 't', source: 's', specversion: '0.3' })).toThrow(
      /specversion "0.3"/,
    );
    expect(() =>
      parseAttributes({ id: 'x', type: 't', source: 's', specversion: '1.0', kind: 'query' }),
    ).toThrow(/kind "query"/);
    expect(() =>
      parseAttributes({ id: 'x', type: 't', source: 's', specversion: '1.0', version: '-1' }),
    ).toThrow(DecodeError);
  });

  it('creates time-ordered, unique UUIDv7 ids', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('codecs', () => {
  it('picks a codec by media type, ignoring parameters and reading +json as JSON', () => {
    const codecs = createCodecs();
    expect(codecs.forContentType('application/json; charset=utf-8')).toBe(jsonCodec);
    expect(codecs.forContentType('application/cloudevents+json')).toBe(jsonCodec);
    expect(() => codecs.forContentType('application/xml')).toThrow(
      /No codec for content type "application\/xml"/,
    );
  });

  it('rejects invalid UTF-8 instead of decoding replacement characters', () => {
    expect(() => jsonCodec.decode(new Uint8Array([0x22, 0xff, 0x22]))).toThrow();
  });
});

describe('claim-check references', () => {
  const ref = {
    store: 's3',
    bucket: 'b',
    key: 'payloads/2026-11-27/a b',
    size: 10,
    contentType: 'application/json',
    sha256: 'a'.repeat(64),
  };

  it('round-trips a reference, escaping the key', () => {
    expect(parseDataRef(formatDataRef(ref))).toEqual(ref);
  });

  it('refuses malformed references and keys outside the prefix', () => {
    expect(() => parseDataRef('https://evil.example/x')).toThrow(PayloadError);
    expect(() => parseDataRef('s3://b/k?size=1&sha256=zz')).toThrow(/no valid size and sha256/);
    expect(() => assertKeyInside('payloads/../secrets', 'payloads/')).toThrow(
      /outside the allowed prefix/,
    );
    expect(() => assertKeyInside('other/x', 'payloads/')).toThrow(/outside the allowed prefix/);
    expect(() => assertKeyInside('payloads//x', 'payloads/')).toThrow(PayloadError);
    expect(() => assertKeyInside('payloads/2026/x', 'payloads/')).not.toThrow();
  });
});

describe('retry policy', () => {
  it('retries retryable errors with growing, jittered delays, then dead-letters with the reason', () => {
    const policy = createRetryPolicy({
      maxDeliveries: 3,
      initialDelayMs: 100,
      multiplier: 2,
      jitter: 0.2,
    });
    const first = dispositionForFailure(policy, new Error('db down'), 1, 'sub');
    const second = dispositionForFailure(policy, new Error('db down'), 2, 'sub');
    expect(first.type).toBe('retry');
    expect(first.type === 'retry' && first.delayMs).toBeGreaterThanOrEqual(80);
    expect(first.type === 'retry' && first.delayMs).toBeLessThanOrEqual(100);
    expect(second.type === 'retry' && second.delayMs).toBeGreaterThanOrEqual(160);
    expect(dispositionForFailure(policy, new Error('db down'), 3, 'sub')).toEqual({
      type: 'dead-letter',
      reason: {
        code: 'EDA_HANDLER',
        errorType: 'Error',
        message: 'db down',
        attempts: 3,
        subscription: 'sub',
      },
    });
  });

  it('dead-letters errors that cannot succeed on retry at once', () => {
    const policy = createRetryPolicy();
    expect(dispositionForFailure(policy, new ValidationError('bad', []), 1, 's').type).toBe(
      'dead-letter',
    );
    expect(dispositionForFailure(policy, new EdaError('EDA_X', 'transient'), 1, 's').type).toBe(
      'retry',
    );
  });

  it('rejects impossible options with a clear message', () => {
    expect(() => createRetryPolicy({ maxDeliveries: 0 })).toThrow(/maxDeliveries is 0/);
    expect(() => createRetryPolicy({ jitter: 2 })).toThrow(/jitter is 2: use a number from 0 to 1/);
  });
});

describe('errors', () => {
  it('recognises @eda errors across copies by their marker, not by class identity', () => {
    const foreign = Object.assign(Object.create(null), { [Symbol.for('@eda/core.error')]: true });
    expect(EdaError.isInstance(foreign)).toBe(true);
    expect(EdaError.isInstance(new Error('x'))).toBe(false);
    expect(EdaError.isInstance(new DecodeError('x'))).toBe(true);
  });
});
