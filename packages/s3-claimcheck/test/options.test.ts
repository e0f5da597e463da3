// Options are refused at creation with a message that says what to do.
import { S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError } from '@eda/core';
import { describe, expect, it } from 'vitest';
import {
  createS3PayloadStore,
  deleteExpiredPayloads,
  type S3PayloadStoreOptions,
} from '../src/index.js';

// Never sends a request: these tests only create stores.
const client = new S3Client({
  region: 'us-east-1',
  endpoint: 'http://127.0.0.1:1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

function refusal(options: Partial<S3PayloadStoreOptions>): string {
  try {
    createS3PayloadStore({ client, bucket: 'payloads', ...options } as S3PayloadStoreOptions);
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).code).toBe('EDA_CONFIGURATION');
    return (error as Error).message;
  }
  throw new Error('expected createS3PayloadStore to refuse the options');
}

describe('createS3PayloadStore options', () => {
  it('uses documented defaults and claims streaming and persistence', () => {
    const store = createS3PayloadStore({ client, bucket: 'payloads' });
    expect(store.prefix).toBe('eda-payloads/');
    expect(store.bucket).toBe('payloads');
    expect(store.capabilities).toEqual({ persistent: true });
  });

  it('refuses a missing client or bucket', () => {
    expect(refusal({ client: undefined as unknown as S3Client })).toMatch(
      /S3 payload store: client must be an S3Client/,
    );
    expect(refusal({ bucket: '' })).toMatch(/bucket "" is not a bucket name/);
    expect(refusal({ bucket: 'a/b' })).toMatch(/pass the name only/);
  });

  it('refuses prefixes that cannot confine references', () => {
    expect(refusal({ prefix: '' })).toMatch(/prefix must not be empty/);
    expect(refusal({ prefix: 'payloads' })).toMatch(/must end with "\/"/);
    expect(refusal({ prefix: '/payloads/' })).toMatch(/empty, "\." or "\.\." segment/);
    expect(refusal({ prefix: 'a/../b/' })).toMatch(/segment/);
    expect(refusal({ prefix: 'a\\b/' })).toMatch(/backslash/);
    expect(createS3PayloadStore({ client, bucket: 'b', prefix: 'orders/payloads/' }).prefix).toBe(
      'orders/payloads/',
    );
  });

  it('refuses impossible sizes', () => {
    expect(refusal({ maxBytes: -1 })).toMatch(/maxBytes is -1/);
    expect(refusal({ partSizeBytes: 1024 })).toMatch(
      /partSizeBytes is 1024: use an integer number >= 5242880/,
    );
    expect(refusal({ queueSize: 0 })).toMatch(/queueSize is 0/);
    expect(refusal({ multipartThresholdBytes: 1.5 })).toMatch(/multipartThresholdBytes/);
  });

  it('refuses an SSE-C key without its algorithm', () => {
    expect(refusal({ encryption: { SSECustomerKey: 'k' } })).toMatch(/SSECustomerAlgorithm/);
  });
});

describe('deleteExpiredPayloads options', () => {
  it('refuses an empty prefix, a negative age and an oversized page before any request', async () => {
    await expect(
      deleteExpiredPayloads({ client, bucket: 'b', prefix: '', olderThanMs: 1 }),
    ).rejects.toThrow(/prefix must not be empty/);
    await expect(
      deleteExpiredPayloads({ client, bucket: 'b', prefix: 'p/', olderThanMs: -5 }),
    ).rejects.toThrow(/olderThanMs is -5/);
    await expect(
      deleteExpiredPayloads({ client, bucket: 'b', prefix: 'p/', olderThanMs: 1, pageSize: 5000 }),
    ).rejects.toThrow(/pageSize is 5000/);
  });
});
