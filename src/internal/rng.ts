/**
 * Seeded pseudo-random numbers that give the same sequence on every machine and backend: splits, shuffles and
 * initialisers all draw from here, never from Math.random.
 */

/** A deterministic generator of floats in [0, 1) (mulberry32 over a 32-bit state). */
export interface Rng {
  /** The next float in [0, 1). */
  next(): number;
  /** The next integer in [0, n). */
  nextInt(n: number): number;
}

/** Mixes an arbitrary integer seed into a well-spread 32-bit state. */
export function hashSeed(seed: number): number {
  let h = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Creates a generator from an integer seed. */
export function createRng(seed: number): Rng {
  let state = hashSeed(seed);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, nextInt: (n: number) => Math.floor(next() * n) };
}

/** Returns a new array with the items of `items` in a seeded random order (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rng = createRng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

/** A 32-bit FNV-1a hash of a string mixed with a seed: stable across runs, machines and Node/browser. */
export function hashString(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ hashSeed(seed)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return hashSeed(h);
}
