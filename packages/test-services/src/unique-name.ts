// Names no other test (or earlier run) uses, so tests never see each other's data.
import { randomBytes } from 'node:crypto';

/**
 * Returns a new name such as `eda-orders-mb2x1k-3f9a6c`: a fixed `eda` start (so leftovers are
 * easy to find), the label, the time in base 36 and six random hex digits. Only lowercase
 * letters, digits and `separator` are used, which every service here accepts.
 *
 * @param label - what the name is for; characters other than `[a-z0-9]` become `separator`.
 * @param separator - `-` by default; use `_` for SQL identifiers.
 */
export function uniqueName(label = 'test', separator = '-'): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .slice(0, 40)
    .trim()
    .replaceAll(' ', separator);
  const parts = ['eda', clean, Date.now().toString(36), randomBytes(3).toString('hex')];
  return parts.filter(Boolean).join(separator);
}
