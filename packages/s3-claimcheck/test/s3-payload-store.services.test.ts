// The S3 payload store against the real S3-compatible server (S3Proxy from `pnpm services:up`):
// round trips, verification, confinement, caps, deletion and encryption pass-through.
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type DataRef, formatDataRef, PayloadError, parseDataRef } from '@eda/core';
import { cleanupServices, createS3Client, useS3Prefix } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import {
  digestOfGenerated,
  generatedPayload,
  rejectionOf,
  type StoreFixture,
  useStore,
} from './helpers.js';

const MIB = 1024 * 1024;
const fixtures: StoreFixture[] = [];

async function fixture(...args: Parameters<typeof useStore>): Promise<StoreFixture> {
  const created = await useStore(...args);
  fixtures.push(created);
  return created;
}

afterEach(async () => {
  await cleanupServices();
  for (const { client } of fixtures.splice(0)) client.destroy();
});

/** The `gc()` function V8 hides unless started with --expose-gc (allowed at run time too). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function objectBytes(f: StoreFixture, key: string): Promise<Buffer> {
  const got = await f.client.send(new GetObjectCommand({ Bucket: f.objects.bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('S3 payload store: round trips', () => {
  it('stores a small payload under an unguessable key inside the prefix and reads it back', async () => {
    const f = await fixture();
    const data = new TextEncoder().encode(JSON.stringify({ hello: 'world' }));
    const ref = await f.store.put(data, { contentType: 'application/json' });
    expect(ref).toMatchObject({ store: 's3', bucket: f.objects.bucket, size: data.byteLength });
    expect(ref.contentType).toBe('application/json');
    expect(ref.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(ref.key).toMatch(new RegExp(`^${f.objects.prefix}\\d{4}-\\d{2}-\\d{2}/[0-9a-f]{32}$`));
    // The object really is in S3, with its content type.
    const head = await f.client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
    expect(head.ContentType).toBe('application/json');
    expect(Buffer.from(await f.store.get(ref))).toEqual(Buffer.from(data));
    // Two puts of the same bytes get two different keys.
    const again = await f.store.put(data, { contentType: 'application/json' });
    expect(again.key).not.toBe(ref.key);
  });

  it('round-trips every byte value exactly, and an empty payload', async () => {
    const f = await fixture();
    const data = new Uint8Array(256 * 64).map((_, i) => (i * 7 + (i >> 8)) % 256);
    const ref = await f.store.put(data, { contentType: 'application/octet-stream' });
    expect(Buffer.from(await f.store.get(ref)).equals(Buffer.from(data))).toBe(true);
    const empty = await f.store.put(new Uint8Array(0), { contentType: 'text/plain' });
    expect(empty.size).toBe(0);
    expect((await f.store.get(empty)).byteLength).toBe(0);
  });

  it('uploads a byte array above the multipart threshold in parts and reads it back intact', async () => {
    const client = createS3Client();
    const commands: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    const f = await fixture({ client, multipartThresholdBytes: 5 * MIB, partSizeBytes: 5 * MIB });
    const data = Buffer.concat([...Array.from({ length: 12 }, (_, i) => Buffer.alloc(MIB, i))]);
    const ref = await f.store.put(data, { contentType: 'application/octet-stream' });
    expect(ref.size).toBe(12 * MIB);
    // 12 MiB in parts of 5 MiB: three parts, not one PUT.
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands).not.toContain('PutObjectCommand');
    const back = await objectBytes(f, ref.key);
    expect(back.equals(data)).toBe(true);
    expect(Buffer.from(await f.store.get(ref)).equals(data)).toBe(true);
  });

  it('streams a 64 MiB payload in and out with bounded memory', async () => {
    const f = await fixture({ partSizeBytes: 5 * MIB, queueSize: 2 });
    const chunks = 64;
    const expected = digestOfGenerated(chunks, MIB);
    // Collect garbage as the bytes flow, so the samples show what is still referenced rather
    // than what the collector has not got round to yet.
    const gc = exposeGc();
    gc();
    let peak = 0;
    const base = process.memoryUsage().arrayBuffers;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }, 2);
    try {
      const ref = await f.store.put(
        generatedPayload(chunks, MIB, async () => gc()),
        {
          contentType: 'application/octet-stream',
        },
      );
      expect(ref.size).toBe(expected.size);
      expect(ref.sha256).toBe(expected.sha256);
      const stream = await f.store.getStream(ref);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.byteLength;
        if (size % MIB < chunk.byteLength) gc();
      }
      expect(size).toBe(expected.size);
      expect(hash.digest('hex')).toBe(expected.sha256);
    } finally {
      clearInterval(sampler);
    }
    // Whole-payload buffering would need at least 64 MiB at once; the store holds a few parts.
    expect(peak).toBeLessThan(48 * MIB);
  });
});

describe('S3 payload store: verification', () => {
  it('names the key of a missing payload', async () => {
    const f = await fixture();
    const ref = await f.store.put(new Uint8Array([1, 2, 3]), { contentType: 'text/plain' });
    await f.store.delete(ref);
    const error = await rejectionOf(f.store.get(ref));
    expect(PayloadError.isInstance(error)).toBe(true);
    expect(error.code).toBe('EDA_PAYLOAD_MISSING');
    expect(error.message).toContain(ref.key);
    expect((await rejectionOf(f.store.getStream(ref))).code).toBe('EDA_PAYLOAD_MISSING');
  });

  it('detects an object altered in place (same size, other bytes) by its hash', async () => {
    const f = await fixture();
    const ref = await f.store.put(Buffer.from('pay 100 to alice'), { contentType: 'text/plain' });
    await f.client.send(
      new PutObjectCommand({
        Bucket: ref.bucket,
        Key: ref.key,
        Body: Buffer.from('pay 900 to mallo'),
      }),
    );
    const error = await rejectionOf(f.store.get(ref));
    expect(error.code).toBe('EDA_PAYLOAD_INTEGRITY');
    expect(error.message).toContain(ref.key);
    // The stream delivers bytes but fails at its end instead of ending.
    const stream = await f.store.getStream(ref);
    const streamError = await rejectionOf(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })(),
    );
    expect(streamError.code).toBe('EDA_PAYLOAD_INTEGRITY');
  });

  it('detects a replaced object of another size before reading it', async () => {
    const f = await fixture();
    const ref = await f.store.put(Buffer.from('short'), { contentType: 'text/plain' });
    await f.client.send(
      new PutObjectCommand({ Bucket: ref.bucket, Key: ref.key, Body: Buffer.alloc(MIB, 1) }),
    );
    const error = await rejectionOf(f.store.get(ref));
    expect(error.code).toBe('EDA_PAYLOAD_INTEGRITY');
    expect(error.message).toMatch(/1048576 bytes .* says 5/);
  });

  it('refuses a payload above the cap before downloading it, and honours a larger per-call cap', async () => {
    const f = await fixture({ maxBytes: 1000 });
    const ref = await f.store.put(Buffer.alloc(2000, 7), {
      contentType: 'application/octet-stream',
    });
    const error = await rejectionOf(f.store.get(ref));
    expect(error.code).toBe('EDA_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('1000');
    expect((await rejectionOf(f.store.getStream(ref, { maxBytes: 1999 }))).code).toBe(
      'EDA_PAYLOAD_TOO_LARGE',
    );
    expect((await f.store.get(ref, { maxBytes: 2000 })).byteLength).toBe(2000);
  });
});

describe('S3 payload store: confinement', () => {
  it('refuses forged references without reading the objects they point to', async () => {
    const f = await fixture();
    const outside = await useS3Prefix('s3-claimcheck-outside');
    const secretKey = outside.key('secret.json');
    const secret = Buffer.from('{"salary":1}');
    await f.client.send(
      new PutObjectCommand({ Bucket: outside.bucket, Key: secretKey, Body: secret }),
    );
    const sha256 = createHash('sha256').update(secret).digest('hex');
    const real = await f.store.put(Buffer.from('ok'), { contentType: 'text/plain' });
    const forged: Record<string, DataRef> = {
      'another prefix': { ...real, key: secretKey, size: secret.length, sha256 },
      'another bucket': { ...real, bucket: 'other-bucket' },
      'dot-dot segments': {
        ...real,
        key: `${f.objects.prefix}../${secretKey}`,
        size: secret.length,
        sha256,
      },
      'an absolute URL': parseDataRef(
        `https://evil.example/${secretKey}?size=${secret.length}&sha256=${sha256}`,
      ),
      'another store kind': { ...real, store: 'memory' },
      'a backslash': { ...real, key: `${f.objects.prefix}..\\x` },
    };
    for (const [label, ref] of Object.entries(forged)) {
      const error = await rejectionOf(f.store.get(ref));
      expect(error.code, label).toBe('EDA_PAYLOAD_FORGED');
      expect((await rejectionOf(f.store.getStream(ref))).code, label).toBe('EDA_PAYLOAD_FORGED');
      expect((await rejectionOf(f.store.delete(ref))).code, label).toBe('EDA_PAYLOAD_FORGED');
    }
    // Escaped slashes in the reference text decode into `..` segments and are refused too.
    const escaped = formatDataRef(real).replace(
      /\/[0-9a-f]{32}\?/,
      `/..%2F..%2F${encodeURIComponent(secretKey)}?`,
    );
    expect((await rejectionOf(f.store.get(parseDataRef(escaped)))).code).toBe('EDA_PAYLOAD_FORGED');
    // The refused deletes touched nothing.
    expect((await objectBytes(f, secretKey)).equals(secret)).toBe(true);
  });

  it('reads references written by another store instance on the same bucket and prefix', async () => {
    const f = await fixture();
    const reader = await fixture({ prefix: f.objects.prefix });
    const ref = await f.store.put(Buffer.from('shared'), { contentType: 'text/plain' });
    const parsed = parseDataRef(formatDataRef(ref));
    expect(Buffer.from(await reader.store.get(parsed)).toString()).toBe('shared');
  });
});

describe('S3 payload store: delete and encryption', () => {
  it('deletes a payload, and deleting it again is not an error', async () => {
    const f = await fixture();
    const ref = await f.store.put(Buffer.from('bye'), { contentType: 'text/plain' });
    await f.store.delete(ref);
    await f.store.delete(ref);
    expect((await rejectionOf(f.store.get(ref))).code).toBe('EDA_PAYLOAD_MISSING');
  });

  it('passes server-side encryption settings through to S3', async () => {
    const client = createS3Client();
    const sent: Record<string, string>[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) sent.push({ ...request.headers });
        return next(args);
      },
      { step: 'finalizeRequest', name: 'captureHeaders' },
    );
    const f = await fixture({
      client,
      encryption: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/eda-payloads' },
    });
    // S3Proxy implements no server-side encryption, so it answers NotImplemented: that it saw
    // the headers is what this test proves; the error must say what to check.
    const error = await rejectionOf(
      f.store.put(Buffer.from('secret'), { contentType: 'text/plain' }),
    );
    expect(error.code).toBe('EDA_CONFIGURATION');
    expect(error.message).toMatch(/NotImplemented.*encryption options/);
    expect(sent.at(-1)).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/eda-payloads',
    });
  });
});

describe('S3 payload store: a failing source stream', () => {
  it("rejects the put with the stream's own error and references nothing", async () => {
    const f = await fixture({ multipartThresholdBytes: 5 * MIB, partSizeBytes: 5 * MIB });
    const broken = new Error('the report generator crashed');
    async function* source(): AsyncGenerator<Uint8Array> {
      yield* generatedPayload(6, MIB);
      throw broken;
    }
    const error = await rejectionOf(
      f.store.put(source(), { contentType: 'application/octet-stream' }),
    );
    expect(error).toBe(broken);
  });
});
