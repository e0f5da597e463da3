// Verifies a payload while it streams: counts bytes and hashes incrementally, fails at once
// when more bytes arrive than the reference announced, and at the end when the count or the
// SHA-256 differ. Nothing is buffered here.
import { createHash } from 'node:crypto';
import { type DataRef, EdaError, PayloadError } from '@eda/core';

/**
 * Yields the chunks of `source` unchanged, verifying them against `ref`.
 * @param toError - maps a failure of `source` itself (a broken connection) to the error to throw.
 * @throws PayloadError EDA_PAYLOAD_INTEGRITY for too many, too few or altered bytes.
 */
export async function* verifiedChunks(
  source: AsyncIterable<Uint8Array>,
  ref: DataRef,
  toError: (error: unknown) => Error,
): AsyncGenerator<Uint8Array, void, undefined> {
  const hash = createHash('sha256');
  let received = 0;
  try {
    // Leaving this loop early (by a throw or by the reader stopping) returns the source
    // iterator, which destroys the HTTP response.
    for await (const chunk of source) {
      received += chunk.byteLength;
      if (received > ref.size) {
        throw new PayloadError(
          'EDA_PAYLOAD_INTEGRITY',
          `Payload "${ref.key}" is longer than the ${ref.size} bytes its reference says: it was altered. Stopped reading at once.`,
        );
      }
      hash.update(chunk);
      yield chunk;
    }
  } catch (error) {
    throw EdaError.isInstance(error) ? error : toError(error);
  }
  if (received !== ref.size) {
    throw new PayloadError(
      'EDA_PAYLOAD_INTEGRITY',
      `Payload "${ref.key}" is ${received} bytes but its reference says ${ref.size}: it was altered or truncated.`,
    );
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== ref.sha256) {
    throw new PayloadError(
      'EDA_PAYLOAD_INTEGRITY',
      `Payload "${ref.key}" does not match its sha256 (${ref.sha256.slice(0, 12)}..): it was altered.`,
    );
  }
}
