/**
 * Split math on plain index arrays: seeded (optionally stratified) weighted splits, tfds-style slicing strings,
 * hash-stable assignment and per-epoch permutations. No tensors here, so every rule is unit-testable.
 */
import { createRng, hashSeed, hashString, shuffled } from './rng';

/** Indices of the samples in each split (indices into the caller's sample list). */
export interface SplitIndices {
  train: number[];
  validation: number[];
  test: number[];
}

/** The split names in their fixed order. */
export const SPLIT_ORDER = ['train', 'validation', 'test'] as const;

const ascending = (a: number, b: number): number => a - b;

/**
 * Splits `labels.length` samples by `weights` (train, validation, test) after a seeded permutation.
 *
 * With `stratify`, each class is cut separately: a split's count of a class is the floor or the ceiling of the class's
 * exact share, and the units left over after the floors go to the splits whose totals are furthest below their exact
 * share, so that the split totals also stay within one sample per class of the exact share. Sizes always add up and
 * splits never overlap. Indices inside each split are returned in ascending order.
 */
export function weightedSplit(
  labels: readonly number[],
  weights: readonly [number, number, number],
  seed: number,
  stratify: boolean,
): SplitIndices {
  const total = weights[0] + weights[1] + weights[2];
  const permuted = shuffled(
    labels.map((_, i) => i),
    seed,
  );
  const groups = new Map<number, number[]>();
  for (const i of permuted) {
    const key = stratify ? (labels[i] as number) : 0;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(i);
  }
  const keys = [...groups.keys()].sort(ascending);
  const n = labels.length;
  const target = weights.map((w) => (n * w) / total);
  const counts = keys.map((k) => {
    const size = (groups.get(k) as number[]).length;
    const exact = weights.map((w) => (size * w) / total);
    return { size, exact, take: exact.map((e) => Math.floor(e + 1e-9)) };
  });
  const assigned = [0, 1, 2].map((s) => counts.reduce((acc, c) => acc + (c.take[s] as number), 0));
  for (const c of counts) {
    let left = c.size - c.take.reduce((a, b) => a + b, 0);
    while (left > 0) {
      let best = -1;
      let bestScore = -Infinity;
      for (let s = 0; s < 3; s++) {
        if ((c.take[s] as number) >= Math.ceil((c.exact[s] as number) - 1e-9)) continue;
        const score = (target[s] as number) - (assigned[s] as number);
        if (score > bestScore + 1e-12) {
          best = s;
          bestScore = score;
        }
      }
      if (best < 0) break;
      c.take[best] = (c.take[best] as number) + 1;
      assigned[best] = (assigned[best] as number) + 1;
      left--;
    }
  }
  const out: SplitIndices = { train: [], validation: [], test: [] };
  keys.forEach((k, gi) => {
    const group = groups.get(k) as number[];
    const take = (counts[gi] as { take: number[] }).take;
    let start = 0;
    SPLIT_ORDER.forEach((name, s) => {
      const end = start + (take[s] as number);
      out[name].push(...group.slice(start, end));
      start = end;
    });
  });
  for (const name of SPLIT_ORDER) out[name].sort(ascending);
  return out;
}

/**
 * Assigns each sample by a seeded hash of its id: `hash(id, seed) / 2^32` falls into one of the cumulative weight
 * intervals. Adding or removing other samples never moves a sample; sizes follow the weights only approximately.
 */
export function stableSplit(ids: readonly string[], weights: readonly [number, number, number], seed: number): SplitIndices {
  const total = weights[0] + weights[1] + weights[2];
  const cut1 = weights[0] / total;
  const cut2 = (weights[0] + weights[1]) / total;
  const out: SplitIndices = { train: [], validation: [], test: [] };
  ids.forEach((id, i) => {
    const u = hashString(id, seed) / 4294967296;
    (u < cut1 ? out.train : u < cut2 ? out.validation : out.test).push(i);
  });
  return out;
}

/** A parsed tfds slice `[from:to]`; `unit` is `'%'` or `'abs'`, bounds may be negative, undefined means open. */
export interface SliceSpec {
  from: number | undefined;
  to: number | undefined;
  unit: '%' | 'abs';
}

const SLICE_RE = /^\[\s*(-?[\d.]+%?)?\s*:\s*(-?[\d.]+%?)?\s*\]$/;

/**
 * Parses a tfds slicing string such as `'[:80%]'`, `'[80%:90%]'`, `'[100:-50]'` (the part between brackets of tfds's
 * `'train[:80%]'`). Returns undefined when the string is not a slice. As in tfds, the unit is `%` when either bound
 * has it, and percent bounds may be fractional while absolute bounds must be integers.
 */
export function parseSlice(spec: string): SliceSpec | undefined {
  const m = SLICE_RE.exec(spec.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === undefined && b === undefined) return undefined;
  const unit = (a ?? '').endsWith('%') || (b ?? '').endsWith('%') ? '%' : 'abs';
  const num = (s: string | undefined): number | undefined | null => {
    if (s === undefined) return undefined;
    const body = s.endsWith('%') ? s.slice(0, -1) : s;
    if (!/^-?(\d+\.?\d*|\.\d+)$/.test(body)) return null;
    const v = Number(body);
    if (unit === 'abs' && !Number.isInteger(v)) return null;
    return v;
  };
  const from = num(a);
  const to = num(b);
  if (from === null || to === null) return undefined;
  return { from, to, unit };
}

/** Python's `round()` for floats: to nearest, ties to even (what tfds's `_pct_to_abs_closest` uses). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Resolves a slice to absolute `[from, to)` on `n` examples with tfds's `'closest'` rounding: a percent bound `p`
 * becomes `round(p * n / 100)` (ties to even), negative bounds count from the end, and a bound whose absolute value
 * exceeds `n` is an error (returns undefined, as tfds raises).
 */
export function sliceToRange(slice: SliceSpec, n: number): [number, number] | undefined {
  const abs = (v: number): number => (slice.unit === '%' ? roundHalfEven((v * n) / 100) : v);
  let from = slice.from === undefined ? 0 : abs(slice.from);
  let to = slice.to === undefined ? n : abs(slice.to);
  if (Math.abs(from) > n || Math.abs(to) > n) return undefined;
  if (from < 0) from += n;
  if (to < 0) to += n;
  return [from, Math.max(from, to)];
}

/**
 * Cuts a seeded permutation of `n` samples by absolute ranges (from {@link sliceToRange}). The ranges apply to the
 * permuted order, like tfds slices apply to the stored order. Indices inside each split come out ascending.
 */
export function sliceSplit(n: number, ranges: Readonly<Record<'train' | 'validation' | 'test', [number, number]>>, seed: number): SplitIndices {
  const permuted = shuffled(
    Array.from({ length: n }, (_, i) => i),
    seed,
  );
  const out: SplitIndices = { train: [], validation: [], test: [] };
  for (const name of SPLIT_ORDER) {
    const [from, to] = ranges[name];
    out[name] = permuted.slice(from, to).sort(ascending);
  }
  return out;
}

/**
 * Checks that ranges on `n` samples are disjoint and cover every sample. Returns a description of the first problem
 * or undefined when they partition `[0, n)`.
 */
export function checkPartition(n: number, ranges: Readonly<Record<'train' | 'validation' | 'test', [number, number]>>): string | undefined {
  const sorted = SPLIT_ORDER.map((name) => ({ name, r: ranges[name] })).sort((a, b) => a.r[0] - b.r[0]);
  let at = 0;
  for (const { name, r } of sorted) {
    if (r[0] < at) return `${name} [${r[0]}:${r[1]}] overlaps another split`;
    if (r[0] > at) return `samples [${at}:${r[0]}] are in no split`;
    at = r[1];
  }
  if (at < n) return `samples [${at}:${n}] are in no split`;
  return undefined;
}

/** The seed of one epoch's shuffle: a fresh stream per (seed, epoch). */
function epochSeed(seed: number, epoch: number): number {
  return (hashSeed(seed) ^ hashSeed(epoch + 0x51ed27)) | 0;
}

/** The seeded order of `indices` for one epoch: a fresh permutation per (seed, epoch), the same on every machine. */
export function epochOrder(indices: readonly number[], seed: number, epoch: number): number[] {
  return shuffled(indices, epochSeed(seed, epoch));
}

/**
 * One epoch's order through a shuffle buffer, with tf.data's `shuffle(bufferSize)` semantics: the buffer starts with
 * the first `bufferSize` items of `indices` (in their order); each step outputs a seeded random item of the buffer
 * and puts the next input item in its place; once the input runs out the buffer drains in random order. Every item
 * comes out exactly once, and item `i` never comes out before step `i - bufferSize + 1`, so a buffer of 1 keeps the
 * input order. A buffer at least as large as the input gives a uniform permutation: {@link epochOrder} itself, so
 * that the default (a buffer as large as the split) keeps the order the loader always gave.
 */
export function bufferedEpochOrder(indices: readonly number[], bufferSize: number, seed: number, epoch: number): number[] {
  if (bufferSize >= indices.length) return epochOrder(indices, seed, epoch);
  const rng = createRng(epochSeed(seed, epoch));
  const buffer = indices.slice(0, bufferSize);
  const out: number[] = [];
  let next = buffer.length;
  while (buffer.length > 0) {
    const j = rng.nextInt(buffer.length);
    out.push(buffer[j] as number);
    if (next < indices.length) buffer[j] = indices[next++] as number;
    else {
      buffer[j] = buffer[buffer.length - 1] as number;
      buffer.pop();
    }
  }
  return out;
}
