// Random bytes drawn from a pooled buffer: ids and trace ids are made for every message, and one
// system call per 4 KiB instead of per id keeps that off the profile.
import { randomFillSync } from 'node:crypto';

const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

function take(size: number): number {
  if (offset + size > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += size;
  return start;
}

/** `size` fresh random bytes in a new buffer. */
export function randomBytesFromPool(size: number): Buffer {
  const start = take(size);
  return Buffer.from(pool.subarray(start, start + size));
}

/** `size` random bytes as lower-case hex. */
export function randomHex(size: number): string {
  const start = take(size);
  return pool.toString('hex', start, start + size);
}
