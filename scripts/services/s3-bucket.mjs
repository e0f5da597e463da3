// Makes sure the test bucket exists on EDA_S3_ENDPOINT, then checks that a streamed upload sent
// with the AWS SDK's default checksums (aws-chunked with a trailer) comes back byte for byte:
// some S3 look-alikes store the chunk framing as data.
// Run by s3proxy.sh; takes @aws-sdk/client-s3 from the @eda/test-services package.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../../packages/test-services/package.json', import.meta.url));
let sdk;
try {
  sdk = createRequire(pkg)('@aws-sdk/client-s3');
} catch {
  console.error(
    'error: @aws-sdk/client-s3 is not installed: run `pnpm install` at the repository root first',
  );
  process.exit(1);
}
const {
  S3Client,
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
} = sdk;

const env = process.env;
const bucket = env.EDA_S3_BUCKET ?? 'eda-test';
const endpoint = env.EDA_S3_ENDPOINT ?? 'http://127.0.0.1:9000';
const s3 = new S3Client({
  endpoint,
  region: env.EDA_S3_REGION ?? 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: env.EDA_S3_ACCESS_KEY_ID ?? 'eda',
    secretAccessKey: env.EDA_S3_SECRET_ACCESS_KEY ?? 'eda-secret-key',
  },
});

// A server that has just opened its port may still drop the first requests (seen with S3Proxy:
// EPIPE on a streamed upload a few milliseconds after start), so network errors and 5xx answers
// are retried for a while; any other answer is final.
const transient = (error) => {
  const status = error?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
};

async function check() {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (error?.$metadata?.httpStatusCode !== 404) throw error;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    console.log(`s3: created bucket ${bucket}`);
  }

  const key = `eda-services-check/${Date.now()}-${process.pid}`;
  const body = randomBytes(256 * 1024);
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      // A stream body makes the SDK send aws-chunked with a checksum trailer (checked in the smoke test).
      Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
      ContentLength: body.length,
    }),
  );
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const back = Buffer.from(await got.Body.transformToByteArray());
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  if (back.length !== body.length || sha(back) !== sha(body)) {
    console.error(
      `error: ${endpoint} returned ${back.length} bytes for ${body.length} uploaded, or other bytes`,
    );
    process.exit(1);
  }
}

const deadline = Date.now() + 30_000;
for (;;) {
  try {
    await check();
    console.log(`s3: bucket ${bucket} ready, streamed upload with default checksums round-trips`);
    break;
  } catch (error) {
    if (!transient(error) || Date.now() > deadline) {
      console.error(
        `error: S3 at ${endpoint} (bucket ${bucket}): ${error?.name ?? ''} ${error?.message ?? error}`,
      );
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
