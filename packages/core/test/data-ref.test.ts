// The claim-check reference parser: a reference that cannot be decoded is a forgery, refused
// for good, never a retryable crash.
import { describe, expect, it } from 'vitest';
import { EdaError, formatDataRef, parseDataRef } from '../src/index.js';

const sha256 = 'a'.repeat(64);

function refusal(value: string): unknown {
  try {
    parseDataRef(value);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('parseDataRef', () => {
  it('round-trips a reference with escaped bucket and key segments', () => {
    const ref = {
      store: 's3',
      bucket: 'bucket with space',
      key: 'tenant/ä b/obj%1',
      size: 12,
      sha256,
      contentType: 'application/json',
    };
    expect(parseDataRef(formatDataRef(ref))).toEqual(ref);
  });

  for (const [what, value] of [
    ['bucket', `s3://bad%E0%A4%A/key?size=1&sha256=${sha256}`],
    ['key', `s3://bucket/bad%ZZkey?size=1&sha256=${sha256}`],
  ] as const) {
    it(`refuses a badly escaped ${what} as forged (not retryable), never a URIError`, () => {
      const error = refusal(value);
      expect(error).not.toBeInstanceOf(URIError);
      expect(EdaError.isInstance(error) && error.code).toBe('EDA_PAYLOAD_FORGED');
      expect(EdaError.isInstance(error) && error.retryable).toBe(false);
      expect((error as Error).message).toContain(`badly escaped ${what}`);
    });
  }
});
