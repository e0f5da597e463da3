// The claim check end to end: the bus offloads large data to the S3 store, the message on the
// transport carries only the reference, the consumer resolves and verifies it before the
// handler, and forged references are dead-lettered with their reason.
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  bytesCodec,
  createBus,
  createCodecs,
  createInMemoryTransport,
  defineEvent,
  jsonCodec,
  on,
  readDeadLetterReason,
} from '@eda/core';
import { uuidv7 } from '@eda/core/adapter';
import { cleanupServices, useS3Prefix } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { type StoreFixture, until, useStore } from './helpers.js';

const Scan = defineEvent<Uint8Array>({ type: 'scan.uploaded', owner: 'scanner' });
const Note = defineEvent<{ text: string }>({ type: 'note.written', owner: 'scanner' });
const fixtures: StoreFixture[] = [];

afterEach(async () => {
  await cleanupServices();
  for (const { client } of fixtures.splice(0)) client.destroy();
});

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function wireSize(record: { headers: Readonly<Record<string, string>>; body: Uint8Array }): number {
  const headers = Object.entries(record.headers).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value),
    0,
  );
  return headers + record.body.byteLength;
}

describe('claim check through the bus with the S3 store', () => {
  it('delivers a 20 MB payload intact while the message on the transport stays under 2 KB', async () => {
    const f = await useStore();
    fixtures.push(f);
    const transport = createInMemoryTransport();
    const codecs = createCodecs([bytesCodec, jsonCodec]);
    const claimCheck = { store: f.store, thresholdBytes: 256 * 1024 };
    const scanner = createBus({ service: 'scanner', transport, codecs, claimCheck });
    const archive = createBus({ service: 'archive', transport, codecs, claimCheck });
    const received: Uint8Array[] = [];
    await archive.subscribe({ handlers: [on(Scan, (m) => void received.push(m.data))] });

    const payload = randomBytes(20 * 1024 * 1024);
    await scanner.publish(Scan, payload);
    await until(() => received.length === 1, 60_000);
    expect(received[0]!.byteLength).toBe(payload.byteLength);
    expect(sha(received[0]!)).toBe(sha(payload));

    const records = transport.broker.topic(Scan.type).partitions.flat();
    expect(records).toHaveLength(1);
    expect(records[0]!.body.byteLength).toBe(0);
    expect(wireSize(records[0]!)).toBeLessThan(2048);
    expect(records[0]!.headers.ce_dataref).toMatch(
      new RegExp(`^s3://${f.objects.bucket}/${f.objects.prefix}`),
    );
    await archive.close();
    await transport.close();
  });

  it('leaves messages below the threshold unchanged and stores nothing for them', async () => {
    const f = await useStore();
    fixtures.push(f);
    const transport = createInMemoryTransport();
    const bus = createBus({
      service: 'scanner',
      transport,
      claimCheck: { store: f.store, thresholdBytes: 64 * 1024 },
    });
    await bus.publish(Note, { text: 'small' });
    const [record] = transport.broker.topic(Note.type).partitions.flat();
    expect(record!.headers.ce_dataref).toBeUndefined();
    expect(JSON.parse(Buffer.from(record!.body).toString())).toEqual({ text: 'small' });
    expect(await f.store.deleteOlderThan(0)).toEqual({ deleted: 0, kept: 0 });
    await transport.close();
  });

  it('dead-letters forged and altered references with their reason and keeps consuming', async () => {
    const f = await useStore();
    fixtures.push(f);
    const outside = await useS3Prefix('s3-claimcheck-outside');
    const transport = createInMemoryTransport();
    const claimCheck = { store: f.store, thresholdBytes: 1024 };
    const scanner = createBus({ service: 'scanner', transport, claimCheck });
    const reader = createBus({
      service: 'reader',
      transport,
      claimCheck,
      retry: { immediateRetries: 0, maxDeliveries: 3, initialDelayMs: 10 },
    });
    const handled: string[] = [];
    await reader.subscribe({ handlers: [on(Note, (m) => void handled.push(m.data.text))] });

    // A real object outside the store's prefix, and a genuine payload that is then altered.
    const secret = Buffer.from(JSON.stringify({ text: 'secret' }));
    const secretKey = outside.key('secret.json');
    await f.client.send(
      new PutObjectCommand({ Bucket: outside.bucket, Key: secretKey, Body: secret }),
    );
    const genuine = await f.store.put(Buffer.from(JSON.stringify({ text: 'genuine' })), {
      contentType: 'application/json',
    });
    await f.client.send(
      new PutObjectCommand({
        Bucket: genuine.bucket,
        Key: genuine.key,
        Body: Buffer.from(JSON.stringify({ text: 'altered' })),
      }),
    );
    const q = `size=${secret.length}&sha256=${sha(secret)}&contenttype=application%2Fjson`;
    const datarefs = {
      'other prefix': `s3://${outside.bucket}/${secretKey}?${q}`,
      'dot-dot': `s3://${outside.bucket}/${f.objects.prefix}../${secretKey}?${q}`,
      'other bucket': `s3://another-bucket/${f.objects.prefix}x?${q}`,
      'absolute URL': `https://evil.example/${secretKey}?${q}`,
      malformed: 'not a reference',
      altered: `s3://${genuine.bucket}/${genuine.key}?size=${genuine.size}&sha256=${genuine.sha256}&contenttype=application%2Fjson`,
    };
    for (const dataref of Object.values(datarefs)) {
      await transport.publish([
        {
          attributes: {
            id: uuidv7(),
            type: Note.type,
            source: 'mallory',
            specversion: '1.0',
            kind: 'event',
            datacontenttype: 'application/json',
            dataref,
          },
          body: new Uint8Array(0),
        },
      ]);
    }
    // A sentinel after the bad messages proves the consumer kept running.
    await scanner.publish(Note, { text: 'x'.repeat(5000) });
    await until(() => handled.length === 1 && transport.broker.deadLetters('reader').length === 6);
    expect(handled).toEqual(['x'.repeat(5000)]);
    const reasons = transport.broker
      .deadLetters('reader')
      .map((d) => readDeadLetterReason(d.headers)!);
    const codes = reasons.map((r) => r.code).sort();
    expect(codes).toEqual([
      'EDA_PAYLOAD_FORGED',
      'EDA_PAYLOAD_FORGED',
      'EDA_PAYLOAD_FORGED',
      'EDA_PAYLOAD_FORGED',
      'EDA_PAYLOAD_FORGED',
      'EDA_PAYLOAD_INTEGRITY',
    ]);
    // Refused at once, not after retries: none of these can succeed later.
    expect(reasons.every((r) => r.attempts === 1)).toBe(true);
    expect(reasons.find((r) => r.code === 'EDA_PAYLOAD_INTEGRITY')!.message).toContain(genuine.key);
    await reader.close();
    await transport.close();
  });
});
