// Faults: S3 stopped in the middle of a put and of a get. The SDK retries by the client's
// retry strategy and the consumer by the bus's retry policy; then a clear error or a dead
// letter; and never a published reference to a payload that was not stored.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  type BusEvent,
  createBus,
  createInMemoryTransport,
  defineEvent,
  EdaError,
  on,
  readDeadLetterReason,
} from '@eda/core';
import { cleanupServices, createS3Client, endpoints, startS3, stopS3 } from '@eda/test-services';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { S3AccessError } from '../src/index.js';
import { generatedPayload, rejectionOf, type StoreFixture, until, useStore } from './helpers.js';

const MIB = 1024 * 1024;
const Report = defineEvent<{ rows: string }>({ type: 'report.ready', owner: 'reports' });
const fixtures: StoreFixture[] = [];

afterEach(async () => {
  // Whatever happened in the test, S3 is up again before the next one (and before cleanup).
  await startS3();
  await cleanupServices();
  for (const { client } of fixtures.splice(0)) client.destroy();
});
afterAll(startS3);

async function fixture(...args: Parameters<typeof useStore>): Promise<StoreFixture> {
  const created = await useStore(...args);
  fixtures.push(created);
  return created;
}

async function keysUnder(f: StoreFixture): Promise<string[]> {
  const page = await f.client.send(
    new ListObjectsV2Command({ Bucket: f.objects.bucket, Prefix: f.objects.prefix }),
  );
  return (page.Contents ?? []).map((o) => o.Key!);
}

const bigRows = () => ({ rows: 'r'.repeat(MIB) });

describe('S3 stopped during a put', () => {
  it('fails the put with a retryable error after the SDK retries, and nothing is stored or published', async () => {
    const f = await fixture({ partSizeBytes: 5 * MIB, queueSize: 1 });
    // The stream stops S3 after the first part has gone up, then carries on.
    const put = f.store.put(
      generatedPayload(12, MIB, async (index) => {
        if (index === 6) await stopS3();
      }),
      { contentType: 'application/octet-stream' },
    );
    const error = await rejectionOf(put);
    expect(EdaError.isInstance(error), `not an @eda error: ${String(error)}`).toBe(true);
    expect(error.code).toBe('EDA_UNAVAILABLE');
    expect((error as EdaError).retryable).toBe(true);
    expect(error.message).toMatch(/could not store the payload .*ECONNREFUSED.*after 2 attempts/);

    // While S3 is down, publishing a large message fails and the transport gets nothing.
    const transport = createInMemoryTransport();
    const bus = createBus({
      service: 'reports',
      transport,
      claimCheck: { store: f.store, thresholdBytes: 64 * 1024 },
    });
    const publishError = await rejectionOf(bus.publish(Report, bigRows()));
    expect(publishError.code).toBe('EDA_UNAVAILABLE');
    expect(transport.broker.topic(Report.type).partitions.flat()).toHaveLength(0);

    await startS3();
    expect(await keysUnder(f)).toEqual([]);
    // Once S3 is back the same publish goes through.
    await bus.publish(Report, bigRows());
    expect(transport.broker.topic(Report.type).partitions.flat()).toHaveLength(1);
    expect(await keysUnder(f)).toHaveLength(1);
    await transport.close();
  });
});

describe('S3 stopped during a get', () => {
  it('breaks a streamed read with a retryable error, then dead-letters after the retry policy', async () => {
    const f = await fixture();
    const ref = await f.store.put(generatedPayload(40, MIB), {
      contentType: 'application/octet-stream',
    });
    const transport = createInMemoryTransport();
    const claimCheck = { store: f.store, thresholdBytes: 64 * 1024 };
    const reports = createBus({ service: 'reports', transport, claimCheck });
    await reports.publish(Report, bigRows());

    const stream = await f.store.getStream(ref);
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the download has started
    await stopS3();
    const streamError = await rejectionOf(
      (async () => {
        for (;;) if ((await iterator.next()).done) break;
      })(),
    );
    expect(streamError.code).toBe('EDA_PAYLOAD_UNAVAILABLE');
    expect(streamError.message).toContain(ref.key);

    // A consumer while S3 is down: retried by policy, then dead-lettered with the reason.
    const events: BusEvent[] = [];
    const reader = createBus({
      service: 'reader',
      transport,
      claimCheck,
      retry: { immediateRetries: 1, maxDeliveries: 3, initialDelayMs: 50 },
      observers: [(event) => events.push(event)],
    });
    let handled = 0;
    await reader.subscribe({
      handlers: [
        on(Report, () => {
          handled += 1;
        }),
      ],
    });
    await until(() => transport.broker.deadLetters('reader').length === 1, 60_000);
    const reason = readDeadLetterReason(transport.broker.deadLetters('reader')[0]!.headers)!;
    expect(reason).toMatchObject({ code: 'EDA_PAYLOAD_UNAVAILABLE', attempts: 3 });
    expect(events.filter((e) => e.kind === 'retry')).toHaveLength(2);
    expect(handled).toBe(0);
    await reader.close();
    await transport.close();
  });

  it('delivers the message once S3 is back during the retries', async () => {
    const f = await fixture();
    const transport = createInMemoryTransport();
    const claimCheck = { store: f.store, thresholdBytes: 64 * 1024 };
    const reports = createBus({ service: 'reports', transport, claimCheck });
    const sent = bigRows();
    await reports.publish(Report, sent);
    await stopS3();

    const events: BusEvent[] = [];
    const reader = createBus({
      service: 'reader',
      transport,
      claimCheck,
      retry: { immediateRetries: 0, maxDeliveries: 20, initialDelayMs: 500, maxDelayMs: 1000 },
      observers: [(event) => events.push(event)],
    });
    const received: string[] = [];
    await reader.subscribe({ handlers: [on(Report, (m) => void received.push(m.data.rows))] });
    await until(() => events.some((e) => e.kind === 'retry'), 60_000);
    await startS3();
    await until(() => received.length === 1, 60_000);
    expect(received[0]).toBe(sent.rows);
    expect(transport.broker.deadLetters('reader')).toHaveLength(0);
    await reader.close();
    await transport.close();
  });
});

describe('credentials refused by S3', () => {
  const wrong = { accessKeyId: 'not-a-key', secretAccessKey: 'not-the-secret' };
  const right = {
    accessKeyId: endpoints.s3.accessKeyId,
    secretAccessKey: endpoints.s3.secretAccessKey,
  };

  it('fails a put with a retryable S3AccessError that names the refusal', async () => {
    const f = await fixture({ client: createS3Client({ credentials: wrong }) });
    const error = await rejectionOf(
      f.store.put(new TextEncoder().encode('x'.repeat(100)), { contentType: 'text/plain' }),
    );
    expect(S3AccessError.isAccessError(error), String(error)).toBe(true);
    expect(error).toMatchObject({ code: 'EDA_UNAVAILABLE', retryable: true, kind: 'denied' });
    expect(error.message).toMatch(/access denied to store s3:\/\//);
    expect(error.message).toMatch(/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/);
  });

  it('retries a read while the credentials are refused, and delivers once they work again', async () => {
    const good = await fixture();
    let refused = true;
    // A credential provider whose keys are rotated while the message waits: refused at first.
    const rotating = createS3Client({
      credentials: async () => ({
        ...(refused ? wrong : right),
        expiration: new Date(), // asked again on every request
      }),
    });
    const reading = await fixture({ client: rotating, prefix: good.objects.prefix });
    const transport = createInMemoryTransport();
    await createBus({
      service: 'reports',
      transport,
      claimCheck: { store: good.store, thresholdBytes: 64 * 1024 },
    }).publish(Report, bigRows());
    const events: BusEvent[] = [];
    const reader = createBus({
      service: 'reader',
      transport,
      // The read must find the payload under the writer's prefix: same bucket, same prefix.
      claimCheck: { store: reading.store, thresholdBytes: 64 * 1024 },
      observers: [(event) => events.push(event)],
    });
    const received: string[] = [];
    await reader.subscribe({ handlers: [on(Report, (m) => void received.push(m.data.rows))] });
    await until(() => events.some((e) => e.kind === 'retry'), 60_000);
    const retry = events.find((e) => e.kind === 'retry');
    expect(retry?.kind === 'retry' && retry.reason).toMatch(/^S3AccessError: .*access denied/);
    refused = false;
    await until(() => received.length === 1, 60_000);
    expect(transport.broker.deadLetters('reader')).toHaveLength(0);
    await reader.close();
    await transport.close();
  });

  it('dead-letters with the refusal in the headers once the retries run out', async () => {
    const good = await fixture();
    const refusing = await fixture({
      client: createS3Client({ credentials: wrong }),
      prefix: good.objects.prefix,
    });
    const transport = createInMemoryTransport();
    await createBus({
      service: 'reports',
      transport,
      claimCheck: { store: good.store, thresholdBytes: 64 * 1024 },
    }).publish(Report, bigRows());
    const reader = createBus({
      service: 'reader',
      transport,
      claimCheck: { store: refusing.store, thresholdBytes: 64 * 1024 },
    });
    let handled = 0;
    await reader.subscribe({
      handlers: [
        on(Report, () => {
          handled += 1;
        }),
      ],
    });
    // The default retry policy: 5 deliveries, about 15 s of delays.
    await until(() => transport.broker.deadLetters('reader').length === 1, 90_000);
    const reason = readDeadLetterReason(transport.broker.deadLetters('reader')[0]!.headers)!;
    expect(reason).toMatchObject({
      code: 'EDA_UNAVAILABLE',
      errorType: 'S3AccessError',
      attempts: 5,
    });
    expect(reason.message).toMatch(/access denied to read s3:\/\/.*credentials/);
    expect(handled).toBe(0);
    await reader.close();
    await transport.close();
  });
});
