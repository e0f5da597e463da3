// Turns AWS SDK failures into @eda errors with a stable code and a message that says what to
// do. Transient failures (network, timeouts, 5xx, throttling) are retryable; the SDK has
// already retried them by the client's own retry strategy before they reach us. Credential and
// permission failures are retryable too (S3AccessError); only requests that no retry can fix
// (a missing bucket, a malformed request, a feature the server lacks) are ConfigurationError.
import { ConfigurationError, PayloadError, UnavailableError } from '@eda/core';
import { S3AccessError } from './s3-access-error.js';

/** The parts of an SDK error we read; every field may be missing on a plain network error. */
interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
}

/**
 * What a failed S3 call means for the caller: `missing` (no such key), `unavailable` (no answer,
 * 5xx, throttling), `denied` (credentials expired, invalid or failing to refresh, or no
 * permission: retryable, they may be fixed while the message waits) or `rejected` (a request no
 * retry can fix, such as a bucket that does not exist).
 */
export type S3FailureKind = 'missing' | 'unavailable' | 'denied' | 'rejected';

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

// Refusals of the caller's identity or permission. The SDK's credential providers throw
// CredentialsProviderError / TokenProviderError (no HTTP status) when a refresh fails.
const DENIED_NAMES = new Set([
  'AccessDenied',
  'AccountProblem',
  'AllAccessDisabled',
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'InvalidToken',
  'SignatureDoesNotMatch',
  'TokenProviderError',
  'TokenRefreshRequired',
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
  if ((name !== undefined && DENIED_NAMES.has(name)) || status === 403) return 'denied';
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

/** The retryable error for a request S3 (or the credential provider) denied. */
function accessError(error: unknown, what: string): S3AccessError {
  return new S3AccessError(
    `S3 payload store: access denied to ${what} (${describeS3Error(error)}): the credentials are expired, invalid, failed to refresh, or lack the permission. Retried by policy in case they are being refreshed or rotated; if it persists, fix the credentials or the bucket policy (a missing key also reads as AccessDenied without s3:ListBucket).`,
    { cause: error },
  );
}

/**
 * The error `put` throws for a failed upload.
 * @returns UnavailableError (retryable) for transient failures, S3AccessError (retryable) when
 * the credentials or permissions were refused, ConfigurationError when S3 refused the request
 * itself (bucket, encryption settings).
 */
export function putError(error: unknown, bucket: string, key: string): Error {
  const detail = describeS3Error(error);
  const kind = classifyS3Error(error);
  if (kind === 'denied') return accessError(error, `store s3://${bucket}/${key}`);
  if (kind === 'rejected') {
    return new ConfigurationError(
      `S3 payload store: S3 refused to store s3://${bucket}/${key} (${detail}): check the bucket name and the encryption options. Nothing was referenced.`,
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
 * S3AccessError (retryable) when the credentials or permissions were refused, or
 * ConfigurationError when S3 refused the request itself.
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
    case 'denied':
      return accessError(error, `read s3://${bucket}/${key}`);
    default:
      return new ConfigurationError(
        `S3 payload store: S3 refused to read s3://${bucket}/${key} (${detail}): check the bucket name and the encryption options.`,
        { cause: error },
      );
  }
}

/**
 * The error `delete` and the cleanup throw.
 * @returns UnavailableError (retryable), S3AccessError (retryable) when the credentials or
 * permissions were refused, or ConfigurationError when S3 refused the request itself.
 */
export function deleteError(error: unknown, bucket: string, what: string): Error {
  const detail = describeS3Error(error);
  const kind = classifyS3Error(error);
  if (kind === 'denied') return accessError(error, `delete ${what} in s3://${bucket}`);
  if (kind === 'rejected') {
    return new ConfigurationError(
      `S3 payload store: S3 refused to delete ${what} in s3://${bucket} (${detail}): check the bucket name.`,
      { cause: error },
    );
  }
  return new UnavailableError(
    `S3 payload store: could not delete ${what} in s3://${bucket} (${detail}); try again later.`,
    { cause: error },
  );
}
