// Explicit cleanup of claim-checked payloads. One consumer cannot know when every consumer is
// done with a payload, so payloads are removed by age: ideally by a bucket lifecycle rule on
// the prefix, otherwise by calling this on a schedule.
import {
  DeleteObjectsCommand,
  type DeleteObjectsCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConfigurationError, UnavailableError } from '@eda/core';
import { deleteError } from './s3-errors.js';
import { assertUsablePrefix } from './s3-payload-store-options.js';

/** Options of `deleteExpiredPayloads`. */
export interface DeleteExpiredPayloadsOptions {
  /** A client you built; it is not destroyed afterwards. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Only objects under this prefix are considered. Must not be empty and must end with `/`. */
  readonly prefix: string;
  /**
   * Objects last modified more than this many milliseconds before `now` are deleted. Choose it
   * longer than the longest time a message can wait for a consumer (retries, outages, replays
   * of the log): a payload deleted too early dead-letters its message as missing.
   */
  readonly olderThanMs: number;
  /** The time ages are measured from. @default new Date() */
  readonly now?: Date;
  /** Objects listed and deleted per request (S3 allows at most 1000). @default 1000 */
  readonly pageSize?: number;
}

/** What `deleteExpiredPayloads` did. */
export interface DeleteExpiredPayloadsResult {
  /** Objects deleted. */
  readonly deleted: number;
  /** Objects under the prefix that were young enough to keep. */
  readonly kept: number;
}

/**
 * Deletes the objects under `prefix` older than `olderThanMs`, one listed page at a time (so
 * memory stays bounded for any number of objects). Safe to run from several processes at once:
 * deleting an object twice is not an error.
 * @throws ConfigurationError for unusable options or when S3 refuses; UnavailableError when S3
 * fails (objects deleted before the failure stay deleted; run it again).
 */
export async function deleteExpiredPayloads(
  options: DeleteExpiredPayloadsOptions,
): Promise<DeleteExpiredPayloadsResult> {
  const { client, bucket, prefix, olderThanMs, now = new Date(), pageSize = 1000 } = options;
  if (!client || typeof client.send !== 'function') {
    throw new ConfigurationError('deleteExpiredPayloads: client must be an S3Client.');
  }
  if (typeof bucket !== 'string' || bucket === '') {
    throw new ConfigurationError('deleteExpiredPayloads: bucket must be a bucket name.');
  }
  assertUsablePrefix(prefix, 'deleteExpiredPayloads prefix');
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new ConfigurationError(
      `deleteExpiredPayloads: olderThanMs is ${olderThanMs}: use a non-negative number of milliseconds, such as 7 * 24 * 3600 * 1000 for a week.`,
    );
  }
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new ConfigurationError(
      `deleteExpiredPayloads: pageSize is ${pageSize}: use an integer from 1 to 1000.`,
    );
  }
  const cutoff = now.getTime() - olderThanMs;
  let deleted = 0;
  let kept = 0;
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          MaxKeys: pageSize,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
    } catch (error) {
      throw deleteError(error, bucket, `payloads under "${prefix}" (listing them)`);
    }
    const expired: { Key: string }[] = [];
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      // An object without a date is kept: deleting what we cannot date could remove a payload
      // that a consumer still needs.
      if (object.LastModified !== undefined && object.LastModified.getTime() < cutoff) {
        expired.push({ Key: object.Key });
      } else {
        kept += 1;
      }
    }
    if (expired.length > 0) {
      let result: DeleteObjectsCommandOutput;
      try {
        result = await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: expired, Quiet: true },
          }),
        );
      } catch (error) {
        throw deleteError(error, bucket, `${expired.length} payloads under "${prefix}"`);
      }
      const errors = result.Errors ?? [];
      deleted += expired.length - errors.length;
      if (errors.length > 0) {
        const first = errors[0]!;
        throw new UnavailableError(
          `deleteExpiredPayloads: S3 did not delete ${errors.length} of ${expired.length} payloads under s3://${bucket}/${prefix} (first: "${first.Key}", ${first.Code}: ${first.Message}); ${deleted} were deleted. Run it again.`,
        );
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return { deleted, kept };
}
