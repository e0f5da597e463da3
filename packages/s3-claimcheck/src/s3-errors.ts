// Turns AWS SDK failures into @eda errors with a stable code and a message that says what to
// do. Transient failures (network, timeouts, 5xx, throttling) are retryable; the SDK has
// already retried them by the client's own retry strategy before they reach us.
import { ConfigurationError, PayloadError, UnavailableError } from '@eda/core';

/** The parts of an SDK error we read; every field may be missing on a plain network error. */
interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
}

/** What a failed S3 call means for the caller. */
export type S3FailureKind = 'missing' | 'unavailable' | 'rejected';

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  // S3 saw other bytes than the checksum we sent: corrupted in transit, worth another try.
  'BadDigest',
  'IncompleteBody',
]);

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** Classifies an SDK error. */
export function classifyS3Error(error: unknown): S3FailureKind {
  const { name, $metadata } = shape(error);
  const status = $metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound') return 'missing';
  // A feature the server lacks (such as encryption on some S3-compatible servers) will not
  // appear on a retry, although it is a 5xx answer.
  if (name === 'NotImplemented' || status === 501) return 'rejected';
  if (name !== undefined && TRANSIENT_NAMES.has(name)) return 'unavailable';
  // No HTTP status: the request never got an answer (refused, reset, DNS, socket timeout).
  if (status === undefined) return 'unavailable';
  if (status >= 500 || status === 408 || status === 429) return 'unavailable';
  if (status === 404 && name !== 'NoSuchBucket') return 'missing';
  return 'rejected';
}

/** `NoSuchBucket: The specified bucket does not exist, after 3 attempts` style detail. */
export function describeS3Error(error: unknown): string {
  const { name, code, message, $metadata } = shape(error);
  const label = [name && name !== 'Error' ? name : undefined, code].filter(Boolean).join(' ');
  const attempts = $metadata?.attempts;
  return `${label ? `${label}: ` : ''}${message ?? String(error)}${attempts ? `, after ${attempts} attempt${attempts === 1 ? '' : 's'}` : ''}`;
}

/**
 * The error `put` throws for a failed upload.
 * @returns UnavailableError (retryable) for transient failures, ConfigurationError when S3
 * refused the request (bucket, permissions, encryption settings).
 */
export function putError(error: unknown, bucket: string, key: string): Error {
  const detail = describeS3Error(error);
  if (classifyS3Error(error) === 'rejected') {
    return new ConfigurationError(
      `S3 payload store: S3 refused to store s3://${bucket}/${key} (${detail}): check the bucket name, the credentials' permissions and the encryption options. Nothing was referenced.`,
      { cause: error },
    );
  }
  return new UnavailableError(
    `S3 payload store: could not store the payload at s3://${bucket}/${key} (${detail}). Nothing was referenced, so nothing points to it; try again when S3 is reachable.`,
    { cause: error },
  );
}

/**
 * The error `get` and `getStream` throw for a failed download.
 * @returns PayloadError EDA_PAYLOAD_MISSING naming the key, EDA_PAYLOAD_UNAVAILABLE (retryable),
 * or ConfigurationError when S3 refused the request.
 */
export function getError(error: unknown, bucket: string, key: string): Error {
  const detail = describeS3Error(error);
  switch (classifyS3Error(error)) {
    case 'missing':
      return new PayloadError(
        'EDA_PAYLOAD_MISSING',
        `Payload "${key}" does not exist in s3://${bucket} (removed by a lifecycle rule or a cleanup, or never stored).`,
        { cause: error },
      );
    case 'unavailable':
      return new PayloadError(
        'EDA_PAYLOAD_UNAVAILABLE',
        `Payload "${key}" could not be read from s3://${bucket} (${detail}): S3 is unreachable or failing; the message is retried by policy.`,
        { cause: error },
      );
    default:
      return new ConfigurationError(
        `S3 payload store: S3 refused to read s3://${bucket}/${key} (${detail}): check the bucket name, the credentials' permissions and the encryption options.`,
        { cause: error },
      );
  }
}

/**
 * The error `delete` and the cleanup throw.
 * @returns UnavailableError (retryable) or ConfigurationError when S3 refused the request.
 */
export function deleteError(error: unknown, bucket: string, what: string): Error {
  const detail = describeS3Error(error);
  if (classifyS3Error(error) === 'rejected') {
    return new ConfigurationError(
      `S3 payload store: S3 refused to delete ${what} in s3://${bucket} (${detail}): check the credentials' permissions.`,
      { cause: error },
    );
  }
  return new UnavailableError(
    `S3 payload store: could not delete ${what} in s3://${bucket} (${detail}); try again later.`,
    { cause: error },
  );
}
