// S3 for tests: a client for EDA_S3_ENDPOINT, and unique key prefixes emptied afterwards.
import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { type Cleanable, registerCleanup } from './cleanup.js';
import { endpoints } from './endpoints.js';
import { uniqueName } from './unique-name.js';

/**
 * An S3 client for the test endpoint: path-style addressing, static credentials, and the SDK's
 * default checksum behaviour (so tests cover what users get).
 *
 * @param config - SDK settings that replace the defaults.
 */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey } = endpoints.s3;
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 2,
    ...config,
  });
}

/** A key prefix in the test bucket made for one test; cleanup deletes every object under it. */
export interface S3Prefix extends Cleanable {
  /** `EDA_S3_BUCKET`. */
  readonly bucket: string;
  /** Such as `eda-test-mb2x1k-3f9a6c/`. */
  readonly prefix: string;
  /** The prefix followed by `name`. */
  key(name: string): string;
}

/**
 * Hands out a unique key prefix in the test bucket.
 *
 * @example
 * afterEach(cleanupServices);
 * const objects = await useS3Prefix();
 * await s3.send(new PutObjectCommand({ Bucket: objects.bucket, Key: objects.key('a.bin'), Body }));
 */
export async function useS3Prefix(label = 'test'): Promise<S3Prefix> {
  const { bucket } = endpoints.s3;
  const prefix = `${uniqueName(label)}/`;
  const cleanable = registerCleanup(async () => {
    const s3 = createS3Client();
    try {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length > 0) {
          const result = await s3.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }),
          );
          if (result.Errors?.length) {
            throw new Error(
              `useS3Prefix cleanup: ${result.Errors.length} objects under ${prefix} not deleted`,
            );
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } finally {
      s3.destroy();
    }
  });
  return {
    bucket,
    prefix,
    key: (name) => prefix + name,
    cleanup: cleanable.cleanup,
  };
}
