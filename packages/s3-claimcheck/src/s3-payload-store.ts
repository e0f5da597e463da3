// The claim-check payload store on S3 and S3-compatible servers: writes payloads under
// unguessable keys inside a configured bucket and prefix, returns a reference only once S3 has
// stored every byte, and reads back only confined references whose size and SHA-256 match.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type DataRef, PayloadError, type PayloadStore } from '@eda/core';
import type { GetPayloadOptions } from '@eda/core/adapter';
import { assertReferenceInside, S3_STORE } from './confinement.js';
import {
  type DeleteExpiredPayloadsResult,
  deleteExpiredPayloads,
} from './delete-expired-payloads.js';
import { newPayloadKey } from './payload-key.js';
import { deleteError, getError, putError } from './s3-errors.js';
import {
  resolveS3PayloadStoreOptions,
  type S3PayloadStoreOptions,
} from './s3-payload-store-options.js';
import { verifiedChunks } from './verified-chunks.js';

/** The S3 payload store: core's `PayloadStore` plus streaming reads and cleanup. */
export interface S3PayloadStore extends PayloadStore {
  /** The bucket payloads are written to and read from. */
  readonly bucket: string;
  /** The key prefix payloads live under (ends with `/`). */
  readonly prefix: string;
  /**
   * Stores a payload (a byte array, or an async iterable of chunks that is uploaded in parts
   * without being held in memory whole). Size and SHA-256 are computed from the bytes sent.
   * Resolves only after S3 has stored the whole object; a failed upload leaves nothing
   * referenced (an interrupted multipart upload is aborted when S3 allows it).
   * Chunks of an iterable must not be modified after they are yielded.
   * @throws UnavailableError when S3 cannot be reached or fails (after the client's retries);
   * S3AccessError (an UnavailableError, retryable) when the credentials or permissions are
   * refused; ConfigurationError when S3 refuses the request (bucket, encryption); the
   * iterable's own error, unchanged, when reading it fails.
   */
  put(
    data: Uint8Array | AsyncIterable<Uint8Array>,
    options: { readonly contentType: string },
  ): Promise<DataRef>;
  /**
   * Reads a whole payload into memory, verified (size and SHA-256) while it downloads.
   * @throws PayloadError: EDA_PAYLOAD_FORGED for a reference outside this bucket and prefix
   * (no request is made), EDA_PAYLOAD_TOO_LARGE when the reference is above `maxBytes` (no
   * request is made), EDA_PAYLOAD_MISSING naming the key, EDA_PAYLOAD_INTEGRITY for altered
   * bytes, EDA_PAYLOAD_UNAVAILABLE (retryable) when S3 is unreachable; S3AccessError
   * (retryable) when the credentials or permissions are refused; ConfigurationError when S3
   * refuses the request itself.
   */
  get(ref: DataRef, options?: GetPayloadOptions): Promise<Uint8Array>;
  /**
   * Opens a payload as a stream, for payloads too large to hold in memory. The promise settles
   * once S3 has answered, so forged, too-large, missing and unreachable payloads reject it with
   * the same errors as `get`. The stream then fails at once if more bytes arrive than the
   * reference says, and at its end (instead of ending) when the size or SHA-256 differ, or
   * with EDA_PAYLOAD_UNAVAILABLE when the connection breaks: treat the data as untrusted until
   * the stream has ended without an error.
   */
  getStream(ref: DataRef, options?: GetPayloadOptions): Promise<Readable>;
  /**
   * Deletes a payload; deleting a missing one is not an error.
   * @throws PayloadError EDA_PAYLOAD_FORGED for a reference outside this bucket and prefix;
   * UnavailableError (S3AccessError when access is denied) or ConfigurationError when S3 fails
   * or refuses.
   */
  delete(ref: DataRef): Promise<void>;
  /**
   * Deletes every object under this store's prefix last modified more than `olderThanMs` ago
   * (see `deleteExpiredPayloads`). Use it when no lifecycle rule can be set on the bucket.
   */
  deleteOlderThan(olderThanMs: number): Promise<DeleteExpiredPayloadsResult>;
}

/** Body of a GetObject response in Node.js: an IncomingMessage with SDK helpers mixed in. */
type ResponseBody = AsyncIterable<Uint8Array> & { destroy?: (error?: Error) => void };

/**
 * Creates the S3 payload store. Use it as the bus's claim-check store:
 * `createBus({ ..., claimCheck: { store: createS3PayloadStore({ client, bucket }) } })`.
 * @throws ConfigurationError for unusable options (named in the message).
 */
export function createS3PayloadStore(options: S3PayloadStoreOptions): S3PayloadStore {
  const resolved = resolveS3PayloadStoreOptions(options);
  const {
    client,
    bucket,
    prefix,
    maxBytes: defaultMaxBytes,
    multipartThresholdBytes,
    partSizeBytes,
    queueSize,
    serverChecksum,
    encryption,
  } = resolved;
  // SSE-C keys must accompany every read as well as the write; the other settings are write-only.
  const readEncryption = {
    ...(encryption.SSECustomerAlgorithm === undefined
      ? {}
      : { SSECustomerAlgorithm: encryption.SSECustomerAlgorithm }),
    ...(encryption.SSECustomerKey === undefined
      ? {}
      : { SSECustomerKey: encryption.SSECustomerKey }),
    ...(encryption.SSECustomerKeyMD5 === undefined
      ? {}
      : { SSECustomerKeyMD5: encryption.SSECustomerKeyMD5 }),
  };

  // A multipart upload; lib-storage reads the body part by part, so at most about
  // queueSize + 1 parts are held in memory, and a body smaller than one part becomes one PUT.
  const upload = (key: string, body: Uint8Array | Readable, contentType: string) =>
    new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType, ...encryption },
      partSize: partSizeBytes,
      queueSize,
    }).done();

  const putBytes = async (bytes: Uint8Array, key: string, contentType: string) => {
    const digest = createHash('sha256').update(bytes).digest();
    try {
      if (bytes.byteLength <= multipartThresholdBytes) {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: bytes,
            ContentLength: bytes.byteLength,
            ContentType: contentType,
            ...(serverChecksum ? { ChecksumSHA256: digest.toString('base64') } : {}),
            ...encryption,
          }),
        );
      } else {
        await upload(key, bytes, contentType);
      }
    } catch (error) {
      throw putError(error, bucket, key);
    }
    return { size: bytes.byteLength, sha256: digest.toString('hex') };
  };

  const putStream = async (data: AsyncIterable<Uint8Array>, key: string, contentType: string) => {
    const hash = createHash('sha256');
    let size = 0;
    let sourceFailed = false;
    let sourceError: unknown;
    // Only an error raised while reading `data` is the caller's: an error the uploader throws
    // into this generator (it aborts the body when a part fails) must not hide the S3 failure.
    async function* metered(): AsyncGenerator<Uint8Array> {
      const source = data[Symbol.asyncIterator]();
      try {
        for (;;) {
          let step: IteratorResult<Uint8Array>;
          try {
            step = await source.next();
          } catch (error) {
            sourceFailed = true;
            sourceError = error;
            throw error;
          }
          if (step.done) return;
          size += step.value.byteLength;
          hash.update(step.value);
          yield step.value;
        }
      } finally {
        await source.return?.();
      }
    }
    try {
      await upload(key, Readable.from(metered(), { objectMode: false }), contentType);
    } catch (error) {
      if (sourceFailed) throw sourceError;
      throw putError(error, bucket, key);
    }
    return { size, sha256: hash.digest('hex') };
  };

  const open = async (ref: DataRef, getOptions: GetPayloadOptions): Promise<ResponseBody> => {
    assertReferenceInside(ref, bucket, prefix);
    const maxBytes = getOptions.maxBytes ?? defaultMaxBytes;
    if (ref.size > maxBytes) {
      throw new PayloadError(
        'EDA_PAYLOAD_TOO_LARGE',
        `Payload "${ref.key}" is ${ref.size} bytes, above the ${maxBytes}-byte limit: raise maxBytes to read it.`,
      );
    }
    let response: GetObjectCommandOutput;
    try {
      response = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: ref.key, ...readEncryption }),
      );
    } catch (error) {
      throw getError(error, bucket, ref.key);
    }
    const body = (response.Body ?? Readable.from([])) as unknown as ResponseBody;
    if (response.ContentLength !== undefined && response.ContentLength !== ref.size) {
      body.destroy?.();
      throw new PayloadError(
        'EDA_PAYLOAD_INTEGRITY',
        `Payload "${ref.key}" is ${response.ContentLength} bytes in s3://${bucket} but its reference says ${ref.size}: it was altered or replaced.`,
      );
    }
    return body;
  };

  const store: S3PayloadStore = {
    capabilities: { persistent: true },
    bucket,
    prefix,

    async put(data, { contentType }) {
      const key = newPayloadKey(prefix);
      const { size, sha256 } =
        data instanceof Uint8Array
          ? await putBytes(data, key, contentType)
          : await putStream(data, key, contentType);
      return { store: S3_STORE, bucket, key, size, contentType, sha256 };
    },

    async get(ref, getOptions = {}) {
      const body = await open(ref, getOptions);
      // The size is known and capped, so one allocation holds the payload; verification
      // guarantees no chunk overruns it.
      const bytes = Buffer.allocUnsafe(ref.size);
      let offset = 0;
      for await (const chunk of verifiedChunks(body, ref, (e) => getError(e, bucket, ref.key))) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return bytes;
    },

    async getStream(ref, getOptions = {}) {
      const body = await open(ref, getOptions);
      return Readable.from(
        verifiedChunks(body, ref, (e) => getError(e, bucket, ref.key)),
        { objectMode: false },
      );
    },

    async delete(ref) {
      assertReferenceInside(ref, bucket, prefix);
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: ref.key }));
      } catch (error) {
        throw deleteError(error, bucket, `"${ref.key}"`);
      }
    },

    deleteOlderThan(olderThanMs) {
      return deleteExpiredPayloads({ client, bucket, prefix, olderThanMs });
    },
  };
  return store;
}
