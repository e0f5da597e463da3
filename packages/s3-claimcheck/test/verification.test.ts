// Error mapping and streamed verification, without a server: the cases a real server cannot
// be made to produce on demand (a response longer than announced, each kind of SDK failure).
import { createHash } from 'node:crypto';
import { type DataRef, type EdaError, UnavailableError } from '@eda/core';
import { describe, expect, it } from 'vitest';
import { assertReferenceInside, classifyS3Error, S3AccessError } from '../src/index.js';
import { deleteError, getError, putError } from '../src/s3-errors.js';
import { verifiedChunks } from '../src/verified-chunks.js';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function refFor(bytes: Uint8Array, overrides: Partial<DataRef> = {}): DataRef {
  return {
    store: 's3',
    bucket: 'b',
    key: 'p/2025-01-01/abc',
    size: bytes.byteLength,
    contentType: 'application/octet-stream',
    sha256: sha(bytes),
    ...overrides,
  };
}

async function* from(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let total = 0;
  for await (const chunk of source) total += chunk.byteLength;
  return total;
}

describe('verifiedChunks', () => {
  const chunks = [Buffer.alloc(10, 1), Buffer.alloc(10, 2), Buffer.alloc(10, 3)];
  const whole = Buffer.concat(chunks);
  const fail = (e: unknown) => new Error(`mapped: ${(e as Error).message}`);

  it('passes the bytes through when size and hash match', async () => {
    expect(await drain(verifiedChunks(from(chunks), refFor(whole), fail))).toBe(30);
  });

  it('stops pulling from the source as soon as more bytes arrive than announced', async () => {
    let pulled = 0;
    let returned = false;
    async function* endless() {
      try {
        for (;;) {
          pulled += 1;
          yield Buffer.alloc(10);
        }
      } finally {
        returned = true;
      }
    }
    const ref = refFor(Buffer.alloc(15));
    await expect(drain(verifiedChunks(endless(), ref, fail))).rejects.toMatchObject({
      code: 'EDA_PAYLOAD_INTEGRITY',
      message: expect.stringContaining('longer than the 15 bytes'),
    });
    expect(pulled).toBe(2);
    expect(returned).toBe(true);
  });

  it('fails at the end for a truncated or altered payload', async () => {
    await expect(
      drain(verifiedChunks(from(chunks.slice(0, 2)), refFor(whole), fail)),
    ).rejects.toMatchObject({
      code: 'EDA_PAYLOAD_INTEGRITY',
      message: expect.stringContaining('20 bytes but its reference says 30'),
    });
    const altered = [chunks[0]!, Buffer.alloc(10, 9), chunks[2]!];
    await expect(drain(verifiedChunks(from(altered), refFor(whole), fail))).rejects.toMatchObject({
      code: 'EDA_PAYLOAD_INTEGRITY',
      message: expect.stringContaining('does not match its sha256'),
    });
  });

  it('maps a failure of the source (a broken connection) through the given mapper', async () => {
    async function* broken() {
      yield Buffer.alloc(10);
      throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    }
    await expect(drain(verifiedChunks(broken(), refFor(whole), fail))).rejects.toThrow(
      'mapped: aborted',
    );
  });
});

describe('S3 error mapping', () => {
  const sdkError = (name: string, status?: number, attempts = 3) =>
    Object.assign(new Error(`${name} happened`), {
      name,
      $metadata: { ...(status === undefined ? {} : { httpStatusCode: status }), attempts },
    });

  it('classifies missing, transient and refused answers', () => {
    expect(classifyS3Error(sdkError('NoSuchKey', 404))).toBe('missing');
    expect(classifyS3Error(sdkError('NotFound', 404))).toBe('missing');
    expect(classifyS3Error(sdkError('NoSuchBucket', 404))).toBe('rejected');
    expect(
      classifyS3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBe('unavailable');
    expect(classifyS3Error(sdkError('TimeoutError'))).toBe('unavailable');
    expect(classifyS3Error(sdkError('InternalError', 500))).toBe('unavailable');
    expect(classifyS3Error(sdkError('SlowDown', 503))).toBe('unavailable');
    expect(classifyS3Error(sdkError('Throttled', 429))).toBe('unavailable');
    expect(classifyS3Error(sdkError('BadDigest', 400))).toBe('unavailable');
    expect(classifyS3Error(sdkError('InvalidBucketName', 400))).toBe('rejected');
    expect(classifyS3Error(sdkError('NotImplemented', 501))).toBe('rejected');
  });

  it('turns them into @eda errors that name the object and whether a retry can help', () => {
    const missing = getError(sdkError('NoSuchKey', 404), 'b', 'p/k') as EdaError;
    expect(missing).toMatchObject({ code: 'EDA_PAYLOAD_MISSING', retryable: false });
    expect(missing.message).toContain('"p/k"');
    const down = getError(sdkError('InternalError', 500), 'b', 'p/k') as EdaError;
    expect(down).toMatchObject({ code: 'EDA_PAYLOAD_UNAVAILABLE', retryable: true });
    expect(down.message).toContain('after 3 attempts');
    const badName = getError(sdkError('InvalidBucketName', 400), 'b', 'p/k') as EdaError;
    expect(badName).toMatchObject({ code: 'EDA_CONFIGURATION', retryable: false });
    const putDown = putError(sdkError('SlowDown', 503), 'b', 'p/k') as EdaError;
    expect(putDown).toMatchObject({ code: 'EDA_UNAVAILABLE', retryable: true });
    expect(putDown.message).toContain('Nothing was referenced');
    expect(putDown.cause).toBeInstanceOf(Error);
    const putDenied = putError(sdkError('NoSuchBucket', 404), 'b', 'p/k') as EdaError;
    expect(putDenied).toMatchObject({ code: 'EDA_CONFIGURATION', retryable: false });
  });
});

describe('S3 credential and permission errors', () => {
  const sdkError = (name: string, status?: number) =>
    Object.assign(new Error(`${name} happened`), {
      name,
      $metadata: status === undefined ? {} : { httpStatusCode: status, attempts: 1 },
    });

  it.each([
    ['ExpiredToken', 400],
    ['ExpiredToken', 403],
    ['InvalidAccessKeyId', 403],
    ['SignatureDoesNotMatch', 403],
    ['AccessDenied', 403],
    ['InvalidToken', 400],
    ['AnyOther403', 403],
    ['CredentialsProviderError', undefined],
    ['TokenProviderError', undefined],
  ])('classifies %s (HTTP %s) as denied', (name, status) => {
    expect(classifyS3Error(sdkError(name, status))).toBe('denied');
  });

  it.each([
    ['put', () => putError(sdkError('ExpiredToken', 400), 'b', 'p/k')],
    ['get', () => getError(sdkError('AccessDenied', 403), 'b', 'p/k')],
    ['delete', () => deleteError(sdkError('InvalidAccessKeyId', 403), 'b', '"p/k"')],
  ])('makes a denied %s a retryable S3AccessError that names the cause', (_, make) => {
    const error = make();
    expect(S3AccessError.isAccessError(error)).toBe(true);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({
      name: 'S3AccessError',
      code: 'EDA_UNAVAILABLE',
      retryable: true,
      kind: 'denied',
    });
    expect(error.message).toMatch(/access denied to .*s3:\/\/b.*happened.*credentials/);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('keeps a request no retry can fix a ConfigurationError', () => {
    for (const error of [
      putError(sdkError('NoSuchBucket', 404), 'b', 'p/k'),
      putError(sdkError('InvalidBucketName', 400), 'b', 'p/k'),
      deleteError(sdkError('InvalidArgument', 400), 'b', '"p/k"'),
    ]) {
      expect(error).toMatchObject({ code: 'EDA_CONFIGURATION', retryable: false });
    }
  });
});

describe('assertReferenceInside', () => {
  const ref = refFor(Buffer.from('x'), { bucket: 'b', key: 'p/2025-01-01/abc' });

  it('accepts a key inside the bucket and prefix', () => {
    expect(() => assertReferenceInside(ref, 'b', 'p/')).not.toThrow();
  });

  it.each([
    ['another bucket', { bucket: 'c' }],
    ['another store', { store: 'https' }],
    ['another prefix', { key: 'q/2025-01-01/abc' }],
    ['a prefix look-alike', { key: 'p2/abc' }],
    ['a dot-dot segment', { key: 'p/../q/abc' }],
    ['an empty segment', { key: 'p//abc' }],
    ['a backslash', { key: 'p/..\\abc' }],
  ])('refuses %s', (_, overrides) => {
    expect(() => assertReferenceInside({ ...ref, ...overrides }, 'b', 'p/')).toThrow(
      expect.objectContaining({ code: 'EDA_PAYLOAD_FORGED' }),
    );
  });
});
