// Cleanup by age: only objects under the prefix and older than the cutoff are deleted.
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { cleanupServices, useS3Prefix } from '@eda/test-services';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteExpiredPayloads } from '../src/index.js';
import { type StoreFixture, useStore } from './helpers.js';

const fixtures: StoreFixture[] = [];
afterEach(async () => {
  await cleanupServices();
  for (const { client } of fixtures.splice(0)) client.destroy();
});

describe('deleteExpiredPayloads', () => {
  it('deletes payloads older than the cutoff, page by page, and keeps younger ones and other prefixes', async () => {
    const f = await useStore();
    fixtures.push(f);
    const neighbour = await useS3Prefix('s3-claimcheck-neighbour');
    const text = { contentType: 'text/plain' };
    const old = await Promise.all(
      Array.from({ length: 5 }, (_, i) => f.store.put(Buffer.from(`old ${i}`), text)),
    );
    await f.client.send(
      new PutObjectCommand({ Bucket: neighbour.bucket, Key: neighbour.key('keep'), Body: 'x' }),
    );
    // S3 dates objects to the second: wait for the next second so the cutoff falls between.
    const lastOld = await f.client.send(
      new HeadObjectCommand({ Bucket: f.objects.bucket, Key: old.at(-1)!.key }),
    );
    while (Date.now() < lastOld.LastModified!.getTime() + 1100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const young = await f.store.put(Buffer.from('young'), text);
    const youngHead = await f.client.send(
      new HeadObjectCommand({ Bucket: f.objects.bucket, Key: young.key }),
    );

    const result = await deleteExpiredPayloads({
      client: f.client,
      bucket: f.objects.bucket,
      prefix: f.objects.prefix,
      olderThanMs: 1,
      now: youngHead.LastModified!,
      pageSize: 2,
    });
    expect(result).toEqual({ deleted: 5, kept: 1 });
    const left = await f.client.send(
      new ListObjectsV2Command({ Bucket: f.objects.bucket, Prefix: f.objects.prefix }),
    );
    expect(left.Contents?.map((o) => o.Key)).toEqual([young.key]);
    expect((await f.store.get(young)).byteLength).toBe(5);
    await expect(f.store.get(old[0]!)).rejects.toMatchObject({ code: 'EDA_PAYLOAD_MISSING' });
    const neighbours = await f.client.send(
      new ListObjectsV2Command({ Bucket: neighbour.bucket, Prefix: neighbour.prefix }),
    );
    expect(neighbours.KeyCount).toBe(1);

    // The store's own shortcut uses its bucket and prefix; a week-long age keeps everything.
    expect(await f.store.deleteOlderThan(7 * 24 * 3600 * 1000)).toEqual({ deleted: 0, kept: 1 });
  });
});
