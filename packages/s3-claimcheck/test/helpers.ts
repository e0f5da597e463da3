// Shared helpers of this package's tests: a store on a fresh prefix of the test bucket, and
// payload streams generated on the fly (never held in memory whole).
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3Prefix, useS3Prefix } from '@eda/test-services';
import {
  createS3PayloadStore,
  type S3PayloadStore,
  type S3PayloadStoreOptions,
} from '../src/index.js';

export interface StoreFixture {
  readonly client: S3Client;
  readonly objects: S3Prefix;
  readonly store: S3PayloadStore;
}

/** A store on its own prefix; `cleanupServices` empties the prefix, `client.destroy()` is the test's job. */
export async function useStore(
  options: Partial<S3PayloadStoreOptions> = {},
  label = 's3-claimcheck',
): Promise<StoreFixture> {
  const client = options.client ?? createS3Client();
  const objects = await useS3Prefix(label);
  const store = createS3PayloadStore({
    client,
    bucket: objects.bucket,
    prefix: objects.prefix,
    ...options,
  });
  return { client, objects, store };
}

/** Deterministic pseudo-random bytes: chunk `index` of a generated payload. */
export function generatedChunk(index: number, size: number): Uint8Array {
  const chunk = Buffer.allocUnsafe(size);
  let x = (index * 2654435761 + 1) >>> 0;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    chunk.writeUInt32LE(x, i);
  }
  return chunk;
}

/** `count` chunks of `chunkSize` bytes (a multiple of 4), generated one at a time. */
export async function* generatedPayload(
  count: number,
  chunkSize: number,
  beforeChunk?: (index: number) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  for (let index = 0; index < count; index++) {
    await beforeChunk?.(index);
    yield generatedChunk(index, chunkSize);
  }
}

/** SHA-256 (hex) and size of a generated payload, computed without holding it. */
export function digestOfGenerated(
  count: number,
  chunkSize: number,
): { sha256: string; size: number } {
  const hash = createHash('sha256');
  for (let index = 0; index < count; index++) hash.update(generatedChunk(index, chunkSize));
  return { sha256: hash.digest('hex'), size: count * chunkSize };
}

/** Catches the rejection of a promise so a test can inspect it. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Polls until `condition` holds (set-up waits only; never a pass/fail timing). */
export async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
