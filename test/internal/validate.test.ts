import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src';
import {
  MAX_BATCH_ELEMENTS,
  MAX_CLASSES,
  MAX_DENSE_UNITS,
  MAX_WEIGHT_ELEMENTS,
  MAX_WORKERS,
  capWorkers,
  checkBatchElements,
  checkClassCount,
  checkDenseUnits,
  checkIntegerInRange,
  checkOptionKeys,
  checkWeightSize,
  checkWorkers,
} from '../../src/internal/validate';

interface Opts {
  readonly imageSize?: number;
  readonly weights?: string | null;
}
const KEYS: Readonly<Record<keyof Opts, true>> = { imageSize: true, weights: true };

describe('checkOptionKeys', () => {
  it('refuses unknown names with the closest known one', () => {
    expect(() => checkOptionKeys<Opts>('call', { imgSize: 3 }, KEYS)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: call: options must be known option names (did you mean 'imageSize'?), got "imgSize"]`,
    );
    // A key far too long to be a typo gets no suggestion (and costs no edit-distance table).
    const long = 'x'.repeat(100_000);
    expect(() => checkOptionKeys<Opts>('call', { [long]: 1 }, KEYS)).toThrow(/options must be known option names, got "x{77}\.\.\."/);
  });

  it('refuses null for every option unless the call lists it as nullable', () => {
    const err = (() => {
      try {
        checkOptionKeys<Opts>('DataLoader.fromDirectory', { imageSize: null }, KEYS);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).option).toBe('imageSize');
    expect((err as Error).message).toMatchInlineSnapshot(
      `"DataLoader.fromDirectory: imageSize must be left out (or undefined) for its default, or a value; null is not an option value here, got null"`,
    );
    expect(() => checkOptionKeys<Opts>('call', { weights: null }, KEYS)).toThrow(/weights must be left out/);
    expect(() => checkOptionKeys<Opts>('call', { weights: null }, KEYS, ['weights'])).not.toThrow();
    expect(() => checkOptionKeys<Opts>('call', { imageSize: null }, KEYS, ['weights'])).toThrow(/imageSize must be left out/);
    // undefined is the documented way to ask for the default.
    expect(() => checkOptionKeys<Opts>('call', { imageSize: undefined, weights: undefined }, KEYS)).not.toThrow();
    // Inherited properties are not options.
    expect(() => checkOptionKeys<Opts>('call', Object.create({ imageSize: null }), KEYS)).not.toThrow();
  });
});

describe('bounds', () => {
  it('accept the edges and refuse one past them', () => {
    expect(() => checkIntegerInRange('c', 'o', 5, 5, 5)).not.toThrow();
    expect(() => checkIntegerInRange('c', 'o', 6, 5, 5)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: c: o must be an integer in [5, 5], got 6]`);
    for (const bad of [Number.NaN, Infinity, 2.5, '3', null]) expect(() => checkIntegerInRange('c', 'o', bad, 0, 10)).toThrow(InvalidArgumentError);
    expect(() => checkClassCount('Wrapper', 'numClasses', MAX_CLASSES)).not.toThrow();
    expect(() => checkClassCount('Wrapper', 'numClasses', 1e9)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Wrapper: numClasses must be an integer in [2, 100000], got 1000000000]`,
    );
    expect(() => checkClassCount('Wrapper', 'numClasses', 1)).toThrow(InvalidArgumentError);
    expect(() => checkDenseUnits('Wrapper', 'hiddenUnits[0]', MAX_DENSE_UNITS)).not.toThrow();
    expect(() => checkDenseUnits('Wrapper', 'hiddenUnits[0]', 1e9)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Wrapper: hiddenUnits[0] must be an integer in [1, 65536], got 1000000000]`,
    );
    expect(() => checkWorkers('fit', MAX_WORKERS)).not.toThrow();
    expect(() => checkWorkers('fit', MAX_WORKERS + 1)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: workers must be an integer in [0, 64], got 65]`);
  });

  it('bound the size of one weight and of one batch by their element counts', () => {
    expect(() => checkWeightSize('c', 'classes', [MAX_WEIGHT_ELEMENTS / 4, 4], 4)).not.toThrow();
    expect(() => checkWeightSize('c', 'classes', [1280, 1e6], 1e6)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: c: classes must be small enough that one weight has at most 536870912 values (it would be [1280, 1000000]), got 1000000]`,
    );
    expect(() => checkWeightSize('c', 'o', [Number.NaN], 1)).toThrow(InvalidArgumentError);
    expect(() => checkBatchElements('c', 'batchSize', 1, 8192, 8192)).not.toThrow();
    const side = Math.floor(Math.sqrt(MAX_BATCH_ELEMENTS / 3));
    expect(() => checkBatchElements('c', 'batchSize', 1, side, side)).not.toThrow();
    expect(() => checkBatchElements('c', 'batchSize', 2, side, side)).toThrow(InvalidArgumentError);
    expect(() => checkBatchElements('DataLoader.fromDirectory', 'batchSize', 32, 8192, 8192)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromDirectory: batchSize must be small enough that one batch of 8192 x 8192 x 3 images holds at most 536870912 values, got 32]`,
    );
  });

  it('capWorkers never starts more threads than cores or jobs, and says 0 when one thread is all that is worth it', () => {
    // The fuzzed case: 32 workers for 12 images on 2 cores.
    expect(capWorkers(32, 2, 12)).toBe(2);
    expect(capWorkers(32, 16, 12)).toBe(12);
    expect(capWorkers(4, 16, 100)).toBe(4);
    expect(capWorkers(8, 1, 100)).toBe(0);
    expect(capWorkers(8, 8, 1)).toBe(0);
    expect(capWorkers(0, 8, 100)).toBe(0);
    for (let requested = 0; requested <= MAX_WORKERS; requested += 7) {
      for (const cores of [1, 2, 3, 16]) {
        for (const jobs of [0, 1, 5, 1000]) {
          const n = capWorkers(requested, cores, jobs);
          expect(n === 0 || (n >= 2 && n <= requested && n <= cores && n <= jobs)).toBe(true);
        }
      }
    }
  });
});
