/** Shared argument checks. Each throws {@link InvalidArgumentError} naming the call and the option. */
import { InvalidArgumentError } from '../errors';
import { closestNames } from './suggest';

/** Throws unless `value` is an integer >= 1. */
export function checkPositiveInteger(call: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(call, option, 'a positive integer', value);
  }
}

/** Throws unless `value` is an integer >= 0. */
export function checkNonNegativeInteger(call: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(call, option, 'a non-negative integer', value);
  }
}

/** Throws unless `value` is a finite number > 0. */
export function checkPositiveNumber(call: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(call, option, 'a positive finite number', value);
  }
}

/** Throws unless `value` is a finite number in [min, max] (or [min, max) when `maxExclusive`). */
export function checkNumberInRange(
  call: string,
  option: string,
  value: unknown,
  min: number,
  max: number,
  maxExclusive = false,
): asserts value is number {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && value >= min && (maxExclusive ? value < max : value <= max);
  if (!ok) throw new InvalidArgumentError(call, option, `a number in [${min}, ${max}${maxExclusive ? ')' : ']'}`, value);
}

/** Throws unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(
  call: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
): asserts value is T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(call, option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
}

/** Throws unless `value` is a non-empty string. */
export function checkNonEmptyString(call: string, option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(call, option, 'a non-empty string', value);
  }
}

/** Throws unless `value` is a plain object (or undefined, which callers treat as `{}`). */
export function checkOptionsObject(call: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new InvalidArgumentError(call, 'options', 'an object or undefined', value);
  }
}

/** Throws unless `value` is a seed: a finite integer. */
export function checkSeed(call: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || !Number.isFinite(value)) {
    throw new InvalidArgumentError(call, 'seed', 'a finite integer', value);
  }
}

/**
 * Throws when `options` has a key that `known` lacks: a misspelt option (`imagesize`, `epoch`) would otherwise be
 * ignored in silence by JavaScript callers. `known` is typed as a record of every option name, so the compiler keeps
 * it complete.
 *
 * Also throws when an option is `null`, unless its name is in `nullable`: tl-kit's policy is that `undefined` (or
 * leaving the option out) means "the default" and `null` is refused, except for the options whose documentation
 * lists `null` as a value (e.g. `applications`' `weights: null`). Every call that checks its keys here inherits it.
 * `argument` names the checked object in the message when it is not the call's `options` (e.g. `content`).
 */
export function checkOptionKeys<T extends object>(
  call: string,
  options: unknown,
  known: Readonly<Record<keyof T, true>>,
  nullable: readonly (keyof T & string)[] = [],
  argument = 'options',
): void {
  if (options === undefined || options === null || typeof options !== 'object') return;
  const names = Object.keys(known);
  for (const key of Object.keys(options)) {
    if (!Object.prototype.hasOwnProperty.call(known, key)) {
      // Edit distances of a long key cost O(key x name): no suggestion for keys no one would type.
      const close = key.length <= 64 ? closestNames(key, names, 1)[0] : undefined;
      const expected = argument === 'options' ? 'known option names' : `an object with known keys only (${names.join(', ')})`;
      throw new InvalidArgumentError(call, argument, `${expected}${close === undefined ? '' : ` (did you mean '${close}'?)`}`, key);
    }
    if ((options as Record<string, unknown>)[key] === null && !(nullable as readonly string[]).includes(key)) {
      const option = argument === 'options' ? key : `${argument}.${key}`;
      throw new InvalidArgumentError(call, option, 'left out (or undefined) for its default, or a value; null is not an option value here', null);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Limits. Every size a caller can ask for is bounded before anything is allocated, so that an absurd value is an
// InvalidArgumentError instead of a RangeError from a typed array or a heap OOM that kills the process. The values
// are documented in docs/reliability.md; each is far above what image transfer learning needs.
// ---------------------------------------------------------------------------------------------------------------

/** Largest image side in pixels that a call accepts for `imageSize` / `inputShape` (tfjs's WebGL texture limit is 16384). */
export const MAX_IMAGE_SIDE = 8192;

/** Most classes a dataset, a head or a classifier may have (ImageNet-21k has 21,841). */
export const MAX_CLASSES = 100_000;

/** Most units of one Dense layer of a head (`hiddenUnits`). */
export const MAX_DENSE_UNITS = 65_536;

/** Most hidden Dense layers of a head (`hiddenUnits`); tfjs-layers walks a model's graph recursively, and a few thousand layers overflow the stack. */
export const MAX_HIDDEN_LAYERS = 64;

/** Most values in one weight tensor (2^29: 2 GiB of float32). VGG16's largest, fc1, has 102,760,448. */
export const MAX_WEIGHT_ELEMENTS = 2 ** 29;

/** Most values in one batch of images, `batchSize * height * width * 3` (2^29: 2 GiB of float32). */
export const MAX_BATCH_ELEMENTS = 2 ** 29;

/** Most files read or decoded at the same time (`concurrency`). */
export const MAX_CONCURRENCY = 256;

/** Most worker threads one call may start (`workers`); see {@link capWorkers} for the number actually worth starting. */
export const MAX_WORKERS = 64;

/**
 * Default `maxPixels` of decoding: the most pixels (width x height, as the header declares them) an image may have
 * before it is refused without being decoded. sharp's own default, 0x3FFF x 0x3FFF.
 */
export const DEFAULT_MAX_PIXELS = 268_402_689;

/** Default `maxFileBytes`: the largest image file (or download) read, 256 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Largest `maxFileBytes` a caller may set (4 GiB, the most one Node Buffer holds). */
export const MAX_FILE_BYTES = 2 ** 32;

/** Throws unless `value` is an integer in `[min, max]`. */
export function checkIntegerInRange(call: string, option: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(call, option, `an integer in [${min}, ${max}]`, value);
  }
}

/** Throws unless `value` is a class count in `[min, MAX_CLASSES]` (a head needs at least 2 classes by default). */
export function checkClassCount(call: string, option: string, value: unknown, min = 2): asserts value is number {
  checkIntegerInRange(call, option, value, min, MAX_CLASSES);
}

/** Throws unless `value` is a Dense layer width in `[1, MAX_DENSE_UNITS]`. */
export function checkDenseUnits(call: string, option: string, value: unknown): asserts value is number {
  checkIntegerInRange(call, option, value, 1, MAX_DENSE_UNITS);
}

/**
 * Throws when a weight of `shape` would hold more than {@link MAX_WEIGHT_ELEMENTS} values. `received` is what the
 * message shows (the option's value, not the shape).
 */
export function checkWeightSize(call: string, option: string, shape: readonly number[], received: unknown): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (!(size <= MAX_WEIGHT_ELEMENTS)) {
    throw new InvalidArgumentError(
      call,
      option,
      `small enough that one weight has at most ${MAX_WEIGHT_ELEMENTS} values (it would be [${shape.join(', ')}])`,
      received,
    );
  }
}

/**
 * Throws unless a batch of `count` images of `height x width x channels` holds at most {@link MAX_BATCH_ELEMENTS}
 * values; `option` names what sets `count` (`batchSize`, or `images` for a list given at once).
 */
export function checkBatchElements(call: string, option: string, count: number, height: number, width: number, channels = 3): void {
  if (!(count * height * width * channels <= MAX_BATCH_ELEMENTS)) {
    throw new InvalidArgumentError(
      call,
      option,
      `small enough that one batch of ${height} x ${width} x ${channels} images holds at most ${MAX_BATCH_ELEMENTS} values`,
      count,
    );
  }
}

/** Throws unless `value` is a number of worker threads in `[0, MAX_WORKERS]`. */
export function checkWorkers(call: string, value: unknown): asserts value is number {
  checkIntegerInRange(call, 'workers', value, 0, MAX_WORKERS);
}

/**
 * The number of worker threads worth starting: never more than asked, than the machine's cores (`cores`, e.g.
 * `os.availableParallelism()`) or than there are pieces of work (`jobs`, e.g. images or batches to extract). Returns 0
 * ("run on the calling thread") when fewer than 2 threads would be worth starting.
 */
export function capWorkers(requested: number, cores: number, jobs: number): number {
  const bound = Math.min(requested, Math.max(1, Math.floor(cores)), Math.max(0, Math.floor(jobs)));
  return bound < 2 ? 0 : bound;
}
