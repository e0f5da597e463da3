// The claim-check reference carried in the envelope's `dataref` attribute. It is a URI
// reference, as the CloudEvents dataref extension asks, that also carries what a consumer needs
// to verify the payload: `<store>://<bucket>/<key>?size=<n>&sha256=<hex>&contenttype=<type>`.
import { PayloadError } from './errors.js';

/** Where a claim-checked payload lives and how to verify it. */
export interface DataRef {
  /** The store kind, such as `s3` or `memory`. */
  readonly store: string;
  /** The bucket or namespace inside the store. */
  readonly bucket: string;
  /** The object key, `/`-separated. */
  readonly key: string;
  /** Exact payload size in bytes. */
  readonly size: number;
  /** Media type of the payload (the original `datacontenttype`). */
  readonly contentType: string;
  /** Lower-case hex SHA-256 of the payload bytes. */
  readonly sha256: string;
}

/** The `dataref` string for a reference. */
export function formatDataRef(ref: DataRef): string {
  const key = ref.key.split('/').map(encodeURIComponent).join('/');
  const query = new URLSearchParams({
    size: String(ref.size),
    sha256: ref.sha256,
    contenttype: ref.contentType,
  });
  return `${ref.store}://${encodeURIComponent(ref.bucket)}/${key}?${query}`;
}

const SHAPE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]+)\/([^?#]+)\?([^#]*)$/;

/**
 * Parses a `dataref` string. Only the syntax is checked here: each store decides which buckets
 * and keys it may read.
 * @throws PayloadError (EDA_PAYLOAD_FORGED) when the reference is malformed.
 */
export function parseDataRef(value: string): DataRef {
  const match = SHAPE.exec(value);
  if (!match) {
    throw new PayloadError(
      'EDA_PAYLOAD_FORGED',
      `Claim-check reference "${value}" is malformed: expected <store>://<bucket>/<key>?size=..&sha256=..&contenttype=...`,
    );
  }
  const [, store, bucket, key, query] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const params = new URLSearchParams(query);
  const size = Number(params.get('size'));
  const sha256 = params.get('sha256') ?? '';
  if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new PayloadError(
      'EDA_PAYLOAD_FORGED',
      `Claim-check reference "${value}" has no valid size and sha256.`,
    );
  }
  // A bad percent-escape is a forged reference: refused for good, never a retryable URIError.
  const decode = (part: string, what: 'bucket' | 'key', split: boolean): string => {
    try {
      return split ? part.split('/').map(decodeURIComponent).join('/') : decodeURIComponent(part);
    } catch (cause) {
      throw new PayloadError(
        'EDA_PAYLOAD_FORGED',
        `Claim-check reference "${value}" has a badly escaped ${what}.`,
        { cause },
      );
    }
  };
  return {
    store,
    bucket: decode(bucket, 'bucket', false),
    key: decode(key, 'key', true),
    size,
    sha256,
    contentType: params.get('contenttype') ?? 'application/octet-stream',
  };
}

/**
 * Checks that a key stays inside `prefix`: no `.`/`..` segments, no empty segments, no
 * backslashes. Stores call this before reading, so a forged reference cannot reach other objects.
 * @throws PayloadError (EDA_PAYLOAD_FORGED)
 */
export function assertKeyInside(key: string, prefix: string): void {
  const segments = key.split('/');
  const unsafe = segments.some((s) => s === '' || s === '.' || s === '..') || key.includes('\\');
  const normalizedPrefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  if (unsafe || !key.startsWith(normalizedPrefix)) {
    throw new PayloadError(
      'EDA_PAYLOAD_FORGED',
      `Claim-check key "${key}" is outside the allowed prefix "${normalizedPrefix}": refusing to read it.`,
    );
  }
}
