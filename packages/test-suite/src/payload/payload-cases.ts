// Payload store cases: byte-exact round trips (small, large, binary, streamed), and refusals:
// missing, altered, forged, too large; keys nobody can guess.
import { createHash, randomBytes } from 'node:crypto';
import type { DataRef } from '@eda/core';
import { expect } from 'vitest';
import { assertSameBytes, everyByteValue } from '../bytes.js';
import { expectEdaError } from '../eda-error.js';
import type { PayloadCase, PayloadCaseContext } from './payload-setup.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Puts `bytes`, checks the reference describes them, reads them back byte-exact. */
async function roundTrip(
  context: PayloadCaseContext,
  bytes: Uint8Array,
  contentType: string,
  what: string,
): Promise<DataRef> {
  const expected = bytes.slice();
  const ref = await context.store.put(bytes, { contentType });
  expect(ref, `reference of ${what}`).toMatchObject({
    size: expected.byteLength,
    sha256: sha256(expected),
    contentType,
  });
  assertSameBytes(await context.store.get(ref), expected, what);
  return ref;
}

/** The longest run of lower-case hex digits in a key. */
function hexRun(key: string): string {
  return (key.match(/[0-9a-f]+/g) ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
}

/** A small JSON payload round trip. */
export const smallRoundTripCase: PayloadCase = {
  name: 'small: a small payload round-trips, with size, sha256 and content type in its reference',
  requires: [],
  async run(context) {
    const bytes = new TextEncoder().encode(
      JSON.stringify({ orderId: 'order-1', note: 'petit déjeuner ☕' }),
    );
    const ref = await roundTrip(context, bytes, 'application/json', 'a small payload');
    expect(
      typeof ref.store === 'string' && typeof ref.bucket === 'string' && ref.key.length > 0,
    ).toBe(true);
  },
};

/** A large payload round trip (20 MiB by default). */
export const largeRoundTripCase: PayloadCase = {
  name: 'large: a large payload round-trips byte-exact',
  requires: [],
  async run(context) {
    const size = context.setup.largeBytes ?? 20 * 1024 * 1024;
    await roundTrip(
      context,
      randomBytes(size),
      'application/octet-stream',
      `a ${size}-byte payload`,
    );
  },
};

/** Every byte value survives. */
export const binaryExactCase: PayloadCase = {
  name: 'binary: every byte value 0..255 round-trips exact',
  requires: [],
  async run(context) {
    await roundTrip(context, everyByteValue(4096), 'application/octet-stream', 'binary payload');
  },
};

/** An async iterable is accepted and stored as the concatenation of its chunks. */
export const streamingPutCase: PayloadCase = {
  name: 'streaming: an async iterable of chunks is stored as their concatenation',
  requires: [],
  async run(context) {
    const chunks = [
      everyByteValue(0),
      randomBytes(1024 * 1024),
      new Uint8Array(0),
      randomBytes(333),
    ];
    const expected = new Uint8Array(Buffer.concat(chunks));
    async function* stream() {
      for (const chunk of chunks) yield chunk;
    }
    const ref = await context.store.put(stream(), { contentType: 'application/octet-stream' });
    expect(ref).toMatchObject({ size: expected.byteLength, sha256: sha256(expected) });
    assertSameBytes(await context.store.get(ref), expected, 'streamed payload');
  },
};

/** A key never stored: EDA_PAYLOAD_MISSING naming the key. */
export const missingKeyCase: PayloadCase = {
  name: 'missing: a reference to a key never stored fails with EDA_PAYLOAD_MISSING naming the key',
  requires: [],
  async run(context) {
    const valid = await context.store.put(new Uint8Array([1, 2, 3]), {
      contentType: 'application/octet-stream',
    });
    const run = hexRun(valid.key);
    const key =
      run.length >= 8
        ? valid.key.replace(
            run,
            randomBytes(Math.ceil(run.length / 2))
              .toString('hex')
              .slice(0, run.length),
          )
        : `${valid.key}-missing`;
    const error = await expectEdaError(
      context.store.get({ ...valid, key }),
      'EDA_PAYLOAD_MISSING',
      'a key never stored',
    );
    expect(error.message, 'the error names the key').toContain(key);
  },
};

/** Deleted: missing afterwards, and deleting again is no error. */
export const deleteCase: PayloadCase = {
  name: 'delete: a deleted payload is missing (naming its key), and deleting it again is not an error',
  requires: [],
  async run(context) {
    const ref = await roundTrip(
      context,
      new Uint8Array([9, 8, 7]),
      'application/octet-stream',
      'payload to delete',
    );
    await context.store.delete(ref);
    const error = await expectEdaError(
      context.store.get(ref),
      'EDA_PAYLOAD_MISSING',
      'a deleted payload',
    );
    expect(error.message).toContain(ref.key);
    await context.store.delete(ref);
  },
};

/** Altered bytes behind a valid reference: EDA_PAYLOAD_INTEGRITY. */
export const alteredCase: PayloadCase = {
  name: 'integrity: a payload altered in the store fails with EDA_PAYLOAD_INTEGRITY',
  requires: [],
  async run(context) {
    const ref = await roundTrip(
      context,
      everyByteValue(100),
      'application/octet-stream',
      'payload to alter',
    );
    await context.environment.alter(ref);
    await expectEdaError(context.store.get(ref), 'EDA_PAYLOAD_INTEGRITY', 'an altered payload');
  },
};

/** References the suite forges from any valid one. */
function genericForgeries(valid: DataRef): { what: string; ref: DataRef }[] {
  const slash = valid.key.lastIndexOf('/');
  const directory = slash >= 0 ? valid.key.slice(0, slash) : '';
  const file = valid.key.slice(slash + 1);
  return [
    { what: 'another store kind', ref: { ...valid, store: `not${valid.store}` } },
    { what: 'another bucket', ref: { ...valid, bucket: `${valid.bucket}-other` } },
    {
      what: 'a ".." segment that resolves back to the key',
      ref: {
        ...valid,
        key: `${directory}/../${directory.split('/').pop() ?? ''}/${file}`.replace(/^\//, ''),
      },
    },
    { what: 'a leading "../"', ref: { ...valid, key: `../${valid.key}` } },
    { what: 'an absolute path', ref: { ...valid, key: `/${valid.key}` } },
    { what: 'a URL as key', ref: { ...valid, key: `https://attacker.invalid/${valid.key}` } },
    { what: 'an empty segment', ref: { ...valid, key: valid.key.replace('/', '//') } },
    { what: 'a backslash', ref: { ...valid, key: valid.key.replace('/', '\\') } },
  ].filter(
    ({ ref }) => ref.key !== valid.key || ref.bucket !== valid.bucket || ref.store !== valid.store,
  );
}

/** Forged references are refused before any read. */
export const forgedRefsCase: PayloadCase = {
  name: 'forged: references to another store, bucket or prefix, or escaping with "..", fail with EDA_PAYLOAD_FORGED',
  requires: [],
  async run(context) {
    const valid = await roundTrip(
      context,
      everyByteValue(64),
      'application/octet-stream',
      'the valid payload',
    );
    const forgeries = [
      ...genericForgeries(valid),
      ...(context.environment.forgedRefs?.(valid) ?? []).map((ref) => ({
        what: `adapter forgery ${JSON.stringify(ref)}`,
        ref,
      })),
    ];
    for (const { what, ref } of forgeries) {
      // FORGED (not MISSING, not INTEGRITY, not success) shows the store refused before reading.
      await expectEdaError(
        context.store.get(ref),
        'EDA_PAYLOAD_FORGED',
        `${what} (key "${ref.key}")`,
      );
    }
    assertSameBytes(
      await context.store.get(valid),
      everyByteValue(64),
      'the valid payload afterwards',
    );
  },
};

/** Above `maxBytes`: EDA_PAYLOAD_TOO_LARGE; at the limit: fine. */
export const maxBytesCase: PayloadCase = {
  name: 'size cap: a payload larger than maxBytes fails with EDA_PAYLOAD_TOO_LARGE; one at the limit is read',
  requires: [],
  async run(context) {
    const bytes = randomBytes(1000);
    const ref = await roundTrip(
      context,
      bytes,
      'application/octet-stream',
      'payload of 1000 bytes',
    );
    await expectEdaError(
      context.store.get(ref, { maxBytes: 999 }),
      'EDA_PAYLOAD_TOO_LARGE',
      'a read capped at 999 bytes',
    );
    assertSameBytes(
      await context.store.get(ref, { maxBytes: 1000 }),
      bytes,
      'a read capped at 1000 bytes',
    );
  },
};

/** Keys carry at least 128 random bits: equal bytes get different keys. */
export const unguessableKeysCase: PayloadCase = {
  name: 'keys: every put gets a new key with at least 128 bits of randomness (32+ hex digits), even for equal bytes',
  requires: [],
  async run(context) {
    const bytes = new TextEncoder().encode('same bytes');
    const refs = await Promise.all(
      Array.from({ length: 8 }, () => context.store.put(bytes, { contentType: 'text/plain' })),
    );
    expect(new Set(refs.map((r) => r.key)).size, 'distinct keys for equal bytes').toBe(refs.length);
    const runs = refs.map((r) => hexRun(r.key));
    for (const [i, run] of runs.entries()) {
      expect(run.length, `hex digits in key "${refs[i]!.key}"`).toBeGreaterThanOrEqual(32);
    }
    expect(new Set(runs).size, 'distinct random parts').toBe(refs.length);
  },
};
