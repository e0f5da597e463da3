// Confinement: a consumer only touches objects inside its own bucket and prefix, whatever a
// (possibly forged) reference says.
import { type DataRef, PayloadError } from '@eda/core';
import { assertKeyInside } from '@eda/core/adapter';

/** The `store` name written into S3 references. */
export const S3_STORE = 's3';

/**
 * Refuses a reference of another store kind (such as an absolute `https://` URL), another
 * bucket, or a key outside `prefix` (including `.`/`..` segments and backslashes).
 * @throws PayloadError EDA_PAYLOAD_FORGED (not retryable: the message is dead-lettered).
 */
export function assertReferenceInside(ref: DataRef, bucket: string, prefix: string): void {
  if (ref.store !== S3_STORE || ref.bucket !== bucket) {
    throw new PayloadError(
      'EDA_PAYLOAD_FORGED',
      `Claim-check reference to ${ref.store}://${ref.bucket}/${ref.key} is outside this S3 payload store (${S3_STORE}://${bucket}/${prefix}): refusing to read it.`,
    );
  }
  assertKeyInside(ref.key, prefix);
}
