// Options of the S3 payload store, and their validation: a bad value is refused when the store
// is created, never on the first message.
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError } from '@eda/core';

/**
 * Server-side encryption settings, passed through unchanged to every upload (and, for SSE-C,
 * to every download). The names are the AWS SDK's own, so the SDK's documentation applies.
 *
 * @example { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:...', BucketKeyEnabled: true }
 */
export type S3PayloadEncryption = Pick<
  PutObjectCommandInput,
  | 'ServerSideEncryption'
  | 'SSEKMSKeyId'
  | 'SSEKMSEncryptionContext'
  | 'BucketKeyEnabled'
  | 'SSECustomerAlgorithm'
  | 'SSECustomerKey'
  | 'SSECustomerKeyMD5'
>;

/** Options of `createS3PayloadStore`. */
export interface S3PayloadStoreOptions {
  /**
   * An S3 client you built (endpoint, region, credentials, `forcePathStyle` for S3-compatible
   * servers, retry strategy, timeouts). The store never destroys it: you own its lifecycle.
   */
  readonly client: S3Client;
  /** The bucket payloads are written to; references to any other bucket are refused. */
  readonly bucket: string;
  /**
   * Key prefix every payload is written under; references outside it are refused. Must end
   * with `/` and must not be empty, so that a consumer never reads the whole bucket.
   * @default 'eda-payloads/'
   */
  readonly prefix?: string;
  /**
   * Largest payload `get` and `getStream` accept when the call names no `maxBytes`.
   * @default 104857600 (100 MiB)
   */
  readonly maxBytes?: number;
  /**
   * Byte arrays up to this size are uploaded with one PUT; larger ones, and every stream, go
   * through a multipart upload.
   * @default 16777216 (16 MiB)
   */
  readonly multipartThresholdBytes?: number;
  /**
   * Part size of multipart uploads (S3's minimum is 5 MiB). Memory held by one streamed upload
   * is about `partSizeBytes * (queueSize + 1)`.
   * @default 8388608 (8 MiB)
   */
  readonly partSizeBytes?: number;
  /** Parts uploaded at once by one multipart upload. @default 4 */
  readonly queueSize?: number;
  /**
   * Send the payload's SHA-256 with single-PUT uploads (`x-amz-checksum-sha256`), so that S3
   * itself refuses bytes altered in transit. Turn off only for an S3-compatible server that
   * rejects the header.
   * @default true
   */
  readonly serverChecksum?: boolean;
  /** Server-side encryption, passed through to S3. @default none (the bucket's default encryption applies) */
  readonly encryption?: S3PayloadEncryption;
}

/** Options with every default filled in. */
export interface ResolvedS3PayloadStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly maxBytes: number;
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  readonly serverChecksum: boolean;
  readonly encryption: S3PayloadEncryption;
}

const MIB = 1024 * 1024;
/** S3 refuses multipart parts smaller than this (except the last one). */
const MIN_PART_SIZE = 5 * MIB;

function fail(message: string): never {
  throw new ConfigurationError(`S3 payload store: ${message}`);
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    fail(`${name} is ${value}: use an integer number >= ${min}.`);
  }
  return value;
}

/**
 * Checks that a key prefix is usable for confinement: not empty, ends with `/`, no leading
 * `/`, no empty, `.` or `..` segments, no backslash.
 * @throws ConfigurationError naming what to change.
 */
export function assertUsablePrefix(prefix: string, what = 'prefix'): void {
  if (typeof prefix !== 'string' || prefix === '') {
    fail(
      `${what} must not be empty: use a folder such as "eda-payloads/" so that payloads are namespaced.`,
    );
  }
  if (!prefix.endsWith('/')) fail(`${what} "${prefix}" must end with "/".`);
  const segments = prefix.slice(0, -1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..') || prefix.includes('\\')) {
    fail(
      `${what} "${prefix}" has an empty, "." or ".." segment or a backslash: use plain folder names such as "eda-payloads/orders/".`,
    );
  }
}

/**
 * Fills in defaults and rejects impossible values.
 * @throws ConfigurationError
 */
export function resolveS3PayloadStoreOptions(
  options: S3PayloadStoreOptions,
): ResolvedS3PayloadStoreOptions {
  if (!options || typeof options !== 'object') {
    fail('options are required: createS3PayloadStore({ client, bucket }).');
  }
  const {
    client,
    bucket,
    prefix = 'eda-payloads/',
    maxBytes = 100 * MIB,
    multipartThresholdBytes = 16 * MIB,
    partSizeBytes = 8 * MIB,
    queueSize = 4,
    serverChecksum = true,
    encryption = {},
  } = options;
  if (!client || typeof client.send !== 'function') {
    fail('client must be an S3Client from @aws-sdk/client-s3: new S3Client({ region, ... }).');
  }
  if (typeof bucket !== 'string' || bucket === '' || bucket.includes('/')) {
    fail(
      `bucket "${String(bucket)}" is not a bucket name: pass the name only, such as "my-payloads".`,
    );
  }
  assertUsablePrefix(prefix);
  if (encryption.SSECustomerKey !== undefined && encryption.SSECustomerAlgorithm === undefined) {
    fail('encryption.SSECustomerKey needs encryption.SSECustomerAlgorithm (usually "AES256").');
  }
  return {
    client,
    bucket,
    prefix,
    maxBytes: positiveInteger('maxBytes', maxBytes, 0),
    multipartThresholdBytes: positiveInteger('multipartThresholdBytes', multipartThresholdBytes, 0),
    partSizeBytes: positiveInteger('partSizeBytes', partSizeBytes, MIN_PART_SIZE),
    queueSize: positiveInteger('queueSize', queueSize, 1),
    serverChecksum: Boolean(serverChecksum),
    encryption,
  };
}
