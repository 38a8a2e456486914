import { describe, expect, it } from 'vitest';
import {
  bufferedEpochOrder,
  checkPartition,
  epochOrder,
  parseSlice,
  roundHalfEven,
  sliceSplit,
  sliceToRange,
  stableSplit,
  weightedSplit,
  type SplitIndices,
} from '../../src/internal/split';

const all = (s: SplitIndices): number[] => [...s.train, ...s.validation, ...s.test];
const labelsOf = (counts: number[]): number[] => counts.flatMap((n, c) => Array<number>(n).fill(c));
const countClass = (idx: number[], labels: number[], c: number): number => idx.filter((i) => labels[i] === c).length;

describe('weightedSplit', () => {
  it('gives every class the floor or ceiling of its exact share, with sizes adding up and no overlap', () => {
    const counts = [13, 7, 29, 1, 50];
    const labels = labelsOf(counts);
    const weights: [number, number, number] = [8, 1, 1];
    for (const seed of [0, 1, 42, 12345]) {
      const s = weightedSplit(labels, weights, seed, true);
      expect(all(s).sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
      counts.forEach((n, c) => {
        (['train', 'validation', 'test'] as const).forEach((name, k) => {
          const exact = (n * (weights[k] as number)) / 10;
          const got = countClass(s[name], labels, c);
          expect(got === Math.floor(exact) || got === Math.ceil(exact)).toBe(true);
        });
      });
      // totals stay within one sample per class of the exact share
      (['train', 'validation', 'test'] as const).forEach((name, k) => {
        expect(Math.abs(s[name].length - (labels.length * (weights[k] as number)) / 10)).toBeLessThanOrEqual(counts.length);
      });
    }
  });

  it('is exact when shares are integers and balances leftovers across splits', () => {
    const labels = labelsOf([10, 10, 10]);
    const s = weightedSplit(labels, [8, 1, 1], 7, true);
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([24, 3, 3]);
    const odd = weightedSplit(labelsOf([5, 5, 5, 5, 5]), [1, 1, 1], 3, true);
    // 25 samples in thirds: totals 8/8/9 in some order, never 5/10/10.
    expect([odd.train.length, odd.validation.length, odd.test.length].sort()).toEqual([8, 8, 9]);
  });

  it('is deterministic per seed and different across seeds', () => {
    const labels = labelsOf([40, 60]);
    expect(weightedSplit(labels, [3, 1, 1], 5, true)).toEqual(weightedSplit(labels, [3, 1, 1], 5, true));
    expect(weightedSplit(labels, [3, 1, 1], 5, true).test).not.toEqual(weightedSplit(labels, [3, 1, 1], 6, true).test);
  });

  it('cuts the whole set when not stratified', () => {
    const labels = labelsOf([3, 97]);
    const s = weightedSplit(labels, [8, 1, 1], 11, false);
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([80, 10, 10]);
    expect(all(s).sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
  });

  it('accepts fractional weights', () => {
    const s = weightedSplit(labelsOf([100]), [0.7, 0.15, 0.15], 1, true);
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([70, 15, 15]);
  });
});

describe('tfds slicing', () => {
  it('parses percent and absolute slices like tfds', () => {
    expect(parseSlice('[:80%]')).toEqual({ from: undefined, to: 80, unit: '%' });
    expect(parseSlice('[80%:90%]')).toEqual({ from: 80, to: 90, unit: '%' });
    expect(parseSlice('[10:-5]')).toEqual({ from: 10, to: -5, unit: 'abs' });
    expect(parseSlice('[33.5%:]')).toEqual({ from: 33.5, to: undefined, unit: '%' });
    expect(parseSlice('[1.5:]')).toBeUndefined();
    expect(parseSlice('[:]')).toBeUndefined();
    expect(parseSlice('80%')).toBeUndefined();
  });

  it("rounds percent boundaries with Python's round (ties to even), as tfds's 'closest' rounding", () => {
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(2.4999)).toBe(2);
    // 10 examples, 25% -> round(2.5) = 2, 75% -> round(7.5) = 8
    expect(sliceToRange(parseSlice('[25%:75%]')!, 10)).toEqual([2, 8]);
    // 101 examples: 80% -> round(80.8) = 81
    expect(sliceToRange(parseSlice('[:80%]')!, 101)).toEqual([0, 81]);
    expect(sliceToRange(parseSlice('[-10:]')!, 100)).toEqual([90, 100]);
    expect(sliceToRange(parseSlice('[:200]')!, 100)).toBeUndefined();
  });

  it('cuts a seeded permutation into disjoint slices that cover everything', () => {
    const n = 37;
    const ranges = {
      train: sliceToRange(parseSlice('[:80%]')!, n)!,
      validation: sliceToRange(parseSlice('[80%:90%]')!, n)!,
      test: sliceToRange(parseSlice('[90%:]')!, n)!,
    };
    expect(checkPartition(n, ranges)).toBeUndefined();
    const s = sliceSplit(n, ranges, 9);
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([30, 3, 4]);
    expect(all(s).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(checkPartition(10, { train: [0, 8], validation: [7, 9], test: [9, 10] })).toMatch(/overlaps/);
    expect(checkPartition(10, { train: [0, 7], validation: [8, 9], test: [9, 10] })).toMatch(/no split/);
  });
});

describe('stableSplit', () => {
  it('never moves an existing sample when others are added, and follows the weights approximately', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `cls/${i}.jpg`);
    const before = stableSplit(ids, [8, 1, 1], 42);
    const after = stableSplit([...ids, ...Array.from({ length: 500 }, (_, i) => `cls/new-${i}.jpg`)], [8, 1, 1], 42);
    for (const name of ['train', 'validation', 'test'] as const) {
      expect(after[name].filter((i) => i < 2000)).toEqual(before[name]);
    }
    expect(before.train.length).toBeGreaterThan(1500);
    expect(before.train.length).toBeLessThan(1700);
    expect(Math.abs(before.test.length - 200)).toBeLessThan(60);
    expect(stableSplit(ids, [8, 1, 1], 43).test).not.toEqual(before.test);
  });
});

describe('epochOrder', () => {
  it('is a permutation that changes every epoch and repeats for the same seed and epoch', () => {
    const idx = Array.from({ length: 50 }, (_, i) => i * 2);
    const e0 = epochOrder(idx, 1, 0);
    expect([...e0].sort((a, b) => a - b)).toEqual(idx);
    expect(epochOrder(idx, 1, 1)).not.toEqual(e0);
    expect(epochOrder(idx, 1, 0)).toEqual(e0);
  });
});

describe('bufferedEpochOrder (tf.data shuffle buffer semantics)', () => {
  const idx = Array.from({ length: 37 }, (_, i) => i * 3 + 1);
  const ascending = (a: number, b: number): number => a - b;

  it('outputs every item exactly once for every buffer size, seed and epoch', () => {
    for (const buffer of [1, 2, 5, 36, 37, 1000]) {
      for (const seed of [0, 7, 42]) {
        for (const epoch of [0, 1, 5]) {
          expect([...bufferedEpochOrder(idx, buffer, seed, epoch)].sort(ascending)).toEqual(idx);
        }
      }
    }
    expect(bufferedEpochOrder([], 4, 1, 0)).toEqual([]);
  });

  it('keeps the input order with a buffer of 1 and is a full epochOrder permutation with a buffer as large as the input', () => {
    expect(bufferedEpochOrder(idx, 1, 3, 0)).toEqual(idx);
    expect(bufferedEpochOrder(idx, 1, 3, 9)).toEqual(idx);
    expect(bufferedEpochOrder(idx, idx.length, 3, 2)).toEqual(epochOrder(idx, 3, 2));
    expect(bufferedEpochOrder(idx, 1e9, 3, 2)).toEqual(epochOrder(idx, 3, 2));
  });

  it('is seeded: the same (seed, epoch) repeats, another epoch or seed differs', () => {
    const a = bufferedEpochOrder(idx, 8, 11, 0);
    expect(bufferedEpochOrder(idx, 8, 11, 0)).toEqual(a);
    expect(bufferedEpochOrder(idx, 8, 11, 1)).not.toEqual(a);
    expect(bufferedEpochOrder(idx, 8, 12, 0)).not.toEqual(a);
  });

  it('never outputs input item i before step i - bufferSize + 1, and draws the first output from the first bufferSize items', () => {
    for (const buffer of [2, 4, 10]) {
      const firsts = new Set<number>();
      for (let seed = 0; seed < 200; seed++) {
        const order = bufferedEpochOrder(idx, buffer, seed, 0);
        order.forEach((item, step) => {
          const i = idx.indexOf(item);
          expect(step).toBeGreaterThanOrEqual(i - buffer + 1);
        });
        firsts.add(idx.indexOf(order[0] as number));
      }
      // Over 200 seeds every buffered item was drawn first at least once, and no later item ever was.
      expect([...firsts].sort(ascending)).toEqual(Array.from({ length: buffer }, (_, i) => i));
    }
  });
});
