// Time-ordered UUIDv7 ids (RFC 9562): sortable by creation time, which keeps outbox and log
// indexes append-mostly, and unique without coordination.
import { randomBytesFromPool } from './random-pool.js';

let lastMs = 0;
let sequence = 0;

/** A new UUIDv7 string. Ids created in the same millisecond by this process stay in order. */
export function uuidv7(now: number = Date.now()): string {
  const bytes = randomBytesFromPool(16);
  if (now <= lastMs) {
    // Same (or earlier, after a clock step back) millisecond: bump a 12-bit counter so ids keep
    // their order within this process.
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMs += 1;
    now = lastMs;
  } else {
    lastMs = now;
    sequence = bytes[6]! & 0x07; // random start, small so the counter has room
  }
  bytes[0] = Math.floor(now / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(now / 2 ** 32) & 0xff;
  bytes[2] = (now >>> 24) & 0xff;
  bytes[3] = (now >>> 16) & 0xff;
  bytes[4] = (now >>> 8) & 0xff;
  bytes[5] = now & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
