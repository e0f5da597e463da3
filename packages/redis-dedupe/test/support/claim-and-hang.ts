// A consumer process that claims one key and then hangs mid-handler until it is killed.
// Usage: claim-and-hang.ts <redis-url> <key-prefix> <dedupe-key> <lease-ms>
import { Redis } from 'ioredis';
import { createRedisIdempotencyStore } from '../../src/index.js';

const [url, keyPrefix, key, leaseMs] = process.argv.slice(2);
const client = new Redis(url!);
const store = createRedisIdempotencyStore({ client, keyPrefix: keyPrefix! });
const result = await store.claim(key!, { leaseMs: Number(leaseMs) });
process.stdout.write(`${result.status}\n`);
// The "handler" never finishes: only SIGKILL ends this process.
setInterval(() => undefined, 60_000);
