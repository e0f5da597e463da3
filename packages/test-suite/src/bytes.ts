// Byte comparisons with failure messages that say where the bytes differ.

/** Throws unless `actual` holds exactly the bytes of `expected`. */
export function assertSameBytes(
  actual: Uint8Array | undefined,
  expected: Uint8Array,
  what: string,
): void {
  if (!(actual instanceof Uint8Array))
    throw new Error(`${what}: expected ${expected.byteLength} bytes, got ${typeof actual}.`);
  if (actual.byteLength !== expected.byteLength) {
    throw new Error(`${what}: expected ${expected.byteLength} bytes, got ${actual.byteLength}.`);
  }
  for (let i = 0; i < expected.byteLength; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(
        `${what}: byte ${i} is ${actual[i]} but should be ${expected[i]} (of ${expected.byteLength}).`,
      );
    }
  }
}

/** Every byte value 0..255 ascending then descending, then `randomTail` pseudo-random bytes (deterministic). */
export function everyByteValue(randomTail = 0): Uint8Array {
  const bytes = new Uint8Array(512 + randomTail);
  for (let i = 0; i < 256; i++) {
    bytes[i] = i;
    bytes[256 + i] = 255 - i;
  }
  let state = 0x9e3779b9;
  for (let i = 512; i < bytes.length; i++) {
    // xorshift32: cheap, deterministic, and covers every byte value.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}
