// The payload store contract suite against the real S3-compatible server.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, useS3Prefix } from '@eda/test-services';
import { describePayloadStoreContract, everyByteValue } from '@eda/test-suite';
import { createS3PayloadStore } from '../src/index.js';

describePayloadStoreContract('@eda/s3-claimcheck on S3Proxy', {
  capabilities: { persistent: true },
  // The issue asks for at least 50 MB in the large round trip.
  largeBytes: 50 * 1024 * 1024,
  async createEnvironment() {
    const client = createS3Client();
    const objects = await useS3Prefix('s3-claimcheck-contract');
    const outside = await useS3Prefix('s3-claimcheck-contract-outside');
    // Bytes an unchecked read of a forged reference would find: the same bytes the forged-refs
    // case stores, so that only confinement (not the hash) can refuse them.
    const decoyKey = outside.key('decoy');
    await client.send(
      new PutObjectCommand({ Bucket: outside.bucket, Key: decoyKey, Body: everyByteValue(64) }),
    );
    const store = createS3PayloadStore({ client, bucket: objects.bucket, prefix: objects.prefix });
    return {
      store,
      async alter(ref) {
        const got = await client.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        bytes[0] = (bytes[0]! + 1) % 256; // same size, one byte flipped
        await client.send(new PutObjectCommand({ Bucket: ref.bucket, Key: ref.key, Body: bytes }));
      },
      forgedRefs: (valid) => [
        { ...valid, key: decoyKey },
        { ...valid, key: `${objects.prefix}../${decoyKey}` },
      ],
      async cleanup() {
        try {
          await outside.cleanup();
          await objects.cleanup();
        } finally {
          client.destroy();
        }
      },
    };
  },
});
