// Credential and permission failures (an expired session token, a key rotated away mid-refresh,
// AccessDenied, any 403) are kept apart from "S3 is down" but treated alike: credentials are
// refreshed and policies fixed while messages wait, and S3 answers AccessDenied for a missing
// key when the reader may not list the bucket. So they are retried by policy, and when retries
// run out the dead-letter headers carry this error's name and message, naming the cause.
import { UnavailableError } from '@eda/core';
import type { EdaErrorOptions } from '@eda/core/adapter';

/** S3 refused the credentials or the permission for a request; retryable by policy. */
export class S3AccessError extends UnavailableError {
  /** Always 'denied': S3 (or the credential provider) refused, as opposed to not answering. */
  readonly kind = 'denied' as const;

  constructor(message: string, options: EdaErrorOptions = {}) {
    super(message, options);
  }

  /** True for an S3AccessError from this copy of the package or another. */
  static isAccessError(value: unknown): value is S3AccessError {
    return (
      UnavailableError.isInstance(value) &&
      (value as { kind?: unknown }).kind === 'denied' &&
      value.name === 'S3AccessError'
    );
  }
}
