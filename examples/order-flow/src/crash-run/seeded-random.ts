// A small seeded generator (mulberry32): the crash run prints its seed, and the same seed gives
// the same fault plan (which process, at which point of the run), so a failure can be replayed.

export interface SeededRandom {
  readonly seed: number;
  /** A number in [0, 1). */
  next(): number;
  /** A number in [min, max). */
  between(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

/** A generator for `seed` (any 32-bit unsigned integer). */
export function seededRandom(seed: number): SeededRandom {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`A seed is a whole number from 0 to ${0xffffffff} (got ${seed}).`);
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    between: (min, max) => min + (max - min) * next(),
    pick(items) {
      if (items.length === 0) throw new Error('pick: the list is empty.');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
  };
}

/** A fresh seed, for a run that was given none. */
export const newSeed = () => Math.floor(Math.random() * 0xffffffff);
