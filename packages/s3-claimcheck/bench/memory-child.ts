// One memory measurement in a fresh process, so that each mode's peak RSS is its own: stores
// and reads back a payload of the given size, then prints the peak RSS growth in bytes.
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, endpoints } from '@eda/test-services';
import { createS3PayloadStore } from '../src/index.js';

const [mode, sizeText, prefix, partText, queueText] = process.argv.slice(2);
const size = Number(sizeText);
const CHUNK = 1024 * 1024;
const client = createS3Client();
const { bucket } = endpoints.s3;
const store = createS3PayloadStore({
  client,
  bucket,
  prefix: prefix!,
  ...(partText ? { partSizeBytes: Number(partText) } : {}),
  ...(queueText ? { queueSize: Number(queueText) } : {}),
});

function chunk(index: number): Buffer {
  return Buffer.alloc(CHUNK, index % 251);
}
async function* generated() {
  for (let i = 0; i < size / CHUNK; i++) yield chunk(i);
}
function whole(): Buffer {
  return Buffer.concat(Array.from({ length: size / CHUNK }, (_, i) => chunk(i)));
}

const startRss = process.memoryUsage().rss;
const hash = createHash('sha256');
if (mode === 'ours-streamed') {
  const ref = await store.put(generated(), { contentType: 'application/octet-stream' });
  for await (const part of await store.getStream(ref, { maxBytes: size }))
    hash.update(part as Buffer);
} else if (mode === 'ours-buffered') {
  const ref = await store.put(whole(), { contentType: 'application/octet-stream' });
  hash.update(await store.get(ref));
} else if (mode === 'raw-buffered') {
  const key = `${prefix}raw-${Date.now()}-${process.pid}`;
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: whole() }));
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  hash.update(await got.Body!.transformToByteArray());
} else {
  throw new Error(`unknown mode ${mode}`);
}
client.destroy();
// maxRSS is in KiB.
const peak = process.resourceUsage().maxRSS * 1024;
process.stdout.write(
  `${JSON.stringify({ growth: peak - startRss, digest: hash.digest('hex') })}\n`,
);
