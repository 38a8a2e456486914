/**
 * Option checks and split planning shared by the three `DataLoader` factories.
 *
 * @module
 */
import { DatasetError, InvalidArgumentError } from '../errors';
import {
  SPLIT_ORDER,
  checkPartition,
  parseSlice,
  sliceSplit,
  sliceToRange,
  stableSplit,
  weightedSplit,
  type SplitIndices,
} from '../internal/split';
import {
  MAX_CLASSES,
  MAX_CONCURRENCY,
  checkBatchElements,
  checkIntegerInRange,
  checkOneOf,
  checkOptionKeys,
  checkOptionsObject,
  checkPositiveInteger,
  checkSeed,
} from '../internal/validate';
import { checkDecoder, resolveDecodeLimits, type DecodeLimits, type DecoderChoice } from './decode';
import type { DataLoaderOptions, DataLoaderProgress, EmptyClassPolicy, SplitMethod, SplitSlices, ValidateMode } from './loader-types';
import { checkPreprocessing, checkResize, resolveImageSize } from './prepare';
import type { LabelMode, PreprocessingMode, ResizeMode } from './types';

/** Options with every default resolved. */
export interface ResolvedOptions {
  imageSize: [number, number];
  batchSize: number;
  splitWeights: [number, number, number];
  splits: SplitSlices | undefined;
  splitMethod: SplitMethod;
  stratify: boolean;
  seed: number;
  shuffleBufferSize: number | undefined;
  preprocessing: PreprocessingMode;
  resize: ResizeMode;
  labelMode: LabelMode | undefined;
  labelNames: readonly string[] | undefined;
  cache: 'none' | 'memory';
  concurrency: number;
  validate: ValidateMode;
  decoder: DecoderChoice;
  limits: DecodeLimits;
  emptyClasses: EmptyClassPolicy;
  onProgress: ((e: DataLoaderProgress) => void) | undefined;
}

/** Every DataLoaderOptions name, so a misspelt one is refused. */
const OPTION_KEYS: Readonly<Record<keyof DataLoaderOptions, true>> = { imageSize: true, batchSize: true, splitWeights: true, splits: true, splitMethod: true, stratify: true, seed: true, shuffleBufferSize: true, preprocessing: true, resize: true, labelMode: true, labelNames: true, cache: true, concurrency: true, validate: true, decoder: true, maxPixels: true, maxFileBytes: true, timeoutMs: true, emptyClasses: true, onProgress: true };

/** The keys of a `splits` object. */
const SPLIT_KEYS: Readonly<Record<keyof SplitSlices, true>> = { train: true, validation: true, test: true };

/** Validates every option and resolves defaults once. */
export function resolveOptions(call: string, options: DataLoaderOptions | undefined): ResolvedOptions {
  checkOptionsObject(call, options);
  checkOptionKeys<DataLoaderOptions>(call, options, OPTION_KEYS);
  const o = options ?? {};
  const imageSize = resolveImageSize(call, o.imageSize ?? 160);
  const batchSize = o.batchSize ?? 32;
  checkPositiveInteger(call, 'batchSize', batchSize);
  checkBatchElements(call, 'batchSize', batchSize, imageSize[0], imageSize[1]);
  const weights = o.splitWeights ?? [8, 1, 1];
  if (
    !Array.isArray(weights) ||
    weights.length !== 3 ||
    !weights.every((w: unknown) => typeof w === 'number' && Number.isFinite(w) && w > 0)
  ) {
    throw new InvalidArgumentError(call, 'splitWeights', 'three positive finite numbers [train, validation, test]', weights);
  }
  const splits = o.splits;
  if (splits !== undefined) {
    if (typeof splits !== 'object' || splits === null || Array.isArray(splits)) {
      throw new InvalidArgumentError(call, 'splits', "an object { train, validation, test } of slices like '[:80%]'", splits);
    }
    const extra = Object.keys(splits).find((k) => !Object.prototype.hasOwnProperty.call(SPLIT_KEYS, k));
    if (extra !== undefined) throw new InvalidArgumentError(call, 'splits', 'an object with the keys train, validation and test only', extra);
    for (const name of SPLIT_ORDER) {
      const spec: unknown = (splits as unknown as Record<string, unknown>)[name];
      if (typeof spec !== 'string' || !parseSlice(spec)) {
        throw new InvalidArgumentError(call, `splits.${name}`, "a tfds slice like '[:80%]', '[80%:90%]' or '[100:200]'", spec);
      }
    }
  }
  const splitMethod = o.splitMethod ?? 'random';
  checkOneOf(call, 'splitMethod', splitMethod, ['random', 'stable']);
  if (splitMethod === 'stable' && splits !== undefined) {
    throw new InvalidArgumentError(call, 'splitMethod', "'random' when splits are given as slices", splitMethod);
  }
  const stratify = o.stratify ?? true;
  if (typeof stratify !== 'boolean') throw new InvalidArgumentError(call, 'stratify', 'a boolean', stratify);
  const seed = o.seed ?? 42;
  checkSeed(call, seed);
  if (o.shuffleBufferSize !== undefined) checkPositiveInteger(call, 'shuffleBufferSize', o.shuffleBufferSize);
  const preprocessing = o.preprocessing ?? 'tf';
  checkPreprocessing(call, preprocessing);
  const resize = o.resize ?? 'stretch';
  checkResize(call, resize);
  if (o.labelMode !== undefined) checkOneOf(call, 'labelMode', o.labelMode, ['binary', 'categorical']);
  const labelNames = o.labelNames;
  if (labelNames !== undefined) {
    const ok = Array.isArray(labelNames) && labelNames.length > 0 && labelNames.every((n) => typeof n === 'string' && n.length > 0);
    if (!ok || new Set(labelNames).size !== labelNames.length) {
      throw new InvalidArgumentError(call, 'labelNames', 'a non-empty array of distinct non-empty strings', labelNames);
    }
    if (labelNames.length > MAX_CLASSES) {
      throw new InvalidArgumentError(call, 'labelNames', `at most ${MAX_CLASSES} class names`, `${labelNames.length} names`);
    }
  }
  const cache = o.cache ?? 'none';
  checkOneOf(call, 'cache', cache, ['none', 'memory']);
  const concurrency = o.concurrency ?? 16;
  checkIntegerInRange(call, 'concurrency', concurrency, 1, MAX_CONCURRENCY);
  const validate = o.validate ?? 'decode';
  checkOneOf(call, 'validate', validate, ['decode', 'header']);
  const decoder = o.decoder ?? 'auto';
  checkDecoder(call, decoder);
  const limits = resolveDecodeLimits(call, o);
  const emptyClasses = o.emptyClasses ?? 'error';
  checkOneOf(call, 'emptyClasses', emptyClasses, ['error', 'drop']);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new InvalidArgumentError(call, 'onProgress', 'a function', o.onProgress);
  }
  return {
    imageSize,
    batchSize,
    splitWeights: [weights[0], weights[1], weights[2]] as [number, number, number],
    splits,
    splitMethod,
    stratify,
    seed,
    shuffleBufferSize: o.shuffleBufferSize,
    preprocessing,
    resize,
    labelMode: o.labelMode,
    labelNames,
    cache,
    concurrency,
    validate,
    decoder,
    limits,
    emptyClasses,
    onProgress: o.onProgress,
  };
}

/** Resolves the label mode for `numClasses`, refusing `'binary'` unless there are exactly two. */
export function resolveLabelMode(call: string, requested: LabelMode | undefined, numClasses: number): LabelMode {
  const mode = requested ?? (numClasses === 2 ? 'binary' : 'categorical');
  if (mode === 'binary' && numClasses !== 2) {
    throw new InvalidArgumentError(call, 'labelMode', `'categorical' for ${numClasses} classes ('binary' needs exactly 2)`, mode);
  }
  return mode;
}

/** Computes the splits of the usable samples and refuses an empty split. */
export function planSplits(call: string, ids: readonly string[], labels: readonly number[], o: ResolvedOptions): SplitIndices {
  const n = labels.length;
  let result: SplitIndices;
  if (o.splits) {
    const ranges = {} as Record<'train' | 'validation' | 'test', [number, number]>;
    for (const name of SPLIT_ORDER) {
      const spec = o.splits[name];
      const range = sliceToRange(parseSlice(spec)!, n);
      if (!range) throw new InvalidArgumentError(call, `splits.${name}`, `a slice within ${n} samples`, spec);
      ranges[name] = range;
    }
    const problem = checkPartition(n, ranges);
    if (problem) {
      throw new InvalidArgumentError(call, 'splits', `slices that cover all ${n} samples exactly once (${problem})`, [
        o.splits.train,
        o.splits.validation,
        o.splits.test,
      ]);
    }
    result = sliceSplit(n, ranges, o.seed);
  } else if (o.splitMethod === 'stable') {
    result = stableSplit(ids, o.splitWeights, o.seed);
  } else {
    result = weightedSplit(labels, o.splitWeights, o.seed, o.stratify);
  }
  for (const name of SPLIT_ORDER) {
    if (result[name].length === 0) {
      const how = o.splits ? `splits ${JSON.stringify(o.splits)}` : `splitWeights [${o.splitWeights.join(', ')}]`;
      throw new DatasetError(`${call}: the ${name} split would be empty (${n} usable samples, ${how})`);
    }
  }
  return result;
}
