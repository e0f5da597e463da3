// Turns core's dedupe keys into Redis keys whose consumer part is a cluster hash tag, so every
// key of one consumer (subscription) lives in one slot and a batch of its claims is one script.

/** A dedupe key as stored in Redis, with the hash tag that picks its cluster slot. */
export interface RedisKey {
  /** The full Redis key: prefix, `{tag}`, then the rest of the dedupe key. */
  readonly key: string;
  /** The hash tag: keys with equal tags share a slot and may go into one script call. */
  readonly tag: string;
}

/**
 * Maps a dedupe key such as `billing:msg:orders:0190...` to `<prefix>{billing}:msg:orders:0190...`.
 * The tag is the part before the first `:` (core puts the subscription there), or the whole key
 * when it has no `:` or starts with one. Because the prefix has no braces, Redis takes the
 * first `{` in the key as ours, so every key of one subscription maps to one slot whatever
 * characters the subscription name holds.
 */
export function toRedisKey(prefix: string, dedupeKey: string): RedisKey {
  const colon = dedupeKey.indexOf(':');
  const tag = colon > 0 ? dedupeKey.slice(0, colon) : dedupeKey;
  const rest = colon > 0 ? dedupeKey.slice(colon) : '';
  return { key: `${prefix}{${tag}}${rest}`, tag };
}
