// The in-memory payload store: keeps claim-checked payloads in a Map, with the same
// confinement and verification rules as a real store.
import { createHash, randomBytes } from 'node:crypto';
import type { PayloadStore } from '../contracts/payload-store.js';
import { assertKeyInside, type DataRef } from '../data-ref.js';
import { ConfigurationError, PayloadError } from '../errors.js';

/** Options of `createInMemoryPayloadStore`. */
export interface InMemoryPayloadStoreOptions {
  /** The bucket name written into references. @default 'memory' */
  readonly bucket?: string;
  /** Key prefix; references outside it are refused. @default 'payloads/' */
  readonly prefix?: string;
  /** Largest payload `get` returns. @default 104857600 (100 MiB) */
  readonly maxBytes?: number;
}

export interface InMemoryPayloadStore extends PayloadStore {
  /** The stored objects by key (tests alter them to prove verification). */
  readonly objects: Map<string, Uint8Array>;
}

async function collect(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  const chunks: Uint8Array[] = [];
  for await (const chunk of data) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Verifies a payload against its reference. @throws PayloadError */
export function verifyPayload(ref: DataRef, bytes: Uint8Array): void {
  if (bytes.byteLength !== ref.size) {
    throw new PayloadError(
      'EDA_PAYLOAD_INTEGRITY',
      `Payload "${ref.key}" is ${bytes.byteLength} bytes but its reference says ${ref.size}: it was altered or truncated.`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ref.sha256) {
    throw new PayloadError(
      'EDA_PAYLOAD_INTEGRITY',
      `Payload "${ref.key}" does not match its sha256 (${ref.sha256.slice(0, 12)}..): it was altered.`,
    );
  }
}

/**
 * Creates a claim-check payload store in memory, with the confinement (bucket and prefix) and
 * verification (size and sha256) rules of a real store. Not persistent.
 * @throws ConfigurationError when `prefix` does not end with `/`.
 */
export function createInMemoryPayloadStore(
  options: InMemoryPayloadStoreOptions = {},
): InMemoryPayloadStore {
  const {
    bucket = 'memory',
    prefix = 'payloads/',
    maxBytes: defaultMax = 100 * 1024 * 1024,
  } = options;
  if (prefix !== '' && !prefix.endsWith('/'))
    throw new ConfigurationError(`Payload store prefix "${prefix}" must end with "/".`);
  const objects = new Map<string, Uint8Array>();
  return {
    capabilities: { persistent: false },
    objects,
    async put(data, { contentType }) {
      const bytes = new Uint8Array(await collect(data)); // a private copy: callers may reuse their buffer
      const key = `${prefix}${new Date().toISOString().slice(0, 10)}/${randomBytes(16).toString('hex')}`;
      objects.set(key, bytes);
      return {
        store: 'memory',
        bucket,
        key,
        size: bytes.byteLength,
        contentType,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    },
    async get(ref, getOptions = {}) {
      if (ref.store !== 'memory' || ref.bucket !== bucket) {
        throw new PayloadError(
          'EDA_PAYLOAD_FORGED',
          `Reference to ${ref.store}://${ref.bucket} is outside this store (memory://${bucket}): refusing to read it.`,
        );
      }
      assertKeyInside(ref.key, prefix);
      const maxBytes = getOptions.maxBytes ?? defaultMax;
      if (ref.size > maxBytes)
        throw new PayloadError(
          'EDA_PAYLOAD_TOO_LARGE',
          `Payload "${ref.key}" is ${ref.size} bytes, above the ${maxBytes}-byte limit.`,
        );
      const bytes = objects.get(ref.key);
      if (!bytes)
        throw new PayloadError(
          'EDA_PAYLOAD_MISSING',
          `Payload "${ref.key}" does not exist in memory://${bucket} (deleted, expired, or never stored).`,
        );
      verifyPayload(ref, bytes);
      return bytes;
    },
    async delete(ref) {
      objects.delete(ref.key);
    },
  };
}
