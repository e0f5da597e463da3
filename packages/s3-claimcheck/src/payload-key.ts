// Object keys for new payloads: a day folder (handy for browsing and lifecycle rules by age)
// and 128 random bits, so that nobody can guess or enumerate another payload's key.
import { randomBytes } from 'node:crypto';

/** A new, unguessable key such as `eda-payloads/2025-01-31/9f86d081884c7d659a2feaa0c55ad015`. */
export function newPayloadKey(prefix: string, now: Date = new Date()): string {
  return `${prefix}${now.toISOString().slice(0, 10)}/${randomBytes(16).toString('hex')}`;
}
