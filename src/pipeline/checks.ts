/** Argument checks shared by the pipeline's public calls, and the check of every batch a source yields. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, ImageBatchSource, SplitName } from '../data/types';
import { DatasetError, InvalidArgumentError } from '../errors';
import { checkOneOf, checkPositiveInteger } from '../internal/validate';

/** Throws unless `model` is a tfjs LayersModel. */
export function checkModel(call: string, model: unknown): asserts model is tfl.LayersModel {
  if (!(model instanceof tfl.LayersModel)) {
    throw new InvalidArgumentError(call, 'model', 'a tf.LayersModel (e.g. from Wrapper)', model);
  }
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;
/** A tfjs-data dataset, or anything else with its `iterator()`. */
const isDataset = (v: unknown): boolean => typeof v === 'object' && v !== null && typeof (v as { iterator?: unknown }).iterator === 'function';

/** Throws unless `data` looks like an ImageBatchSource. */
export function checkSource(call: string, data: unknown): asserts data is ImageBatchSource {
  const d = data as Partial<ImageBatchSource> | null;
  const counts = (d?.numExamples ?? null) as Partial<ImageBatchSource['numExamples']> | null;
  const size: unknown = d?.imageSize;
  const ok =
    typeof d === 'object' &&
    d !== null &&
    Array.isArray(d.labelNames) &&
    d.labelNames.length >= 2 &&
    typeof counts === 'object' &&
    counts !== null &&
    isCount(counts.train) &&
    isCount(counts.validation) &&
    isCount(counts.test) &&
    Array.isArray(size) &&
    size.length === 2 &&
    size.every((v) => Number.isInteger(v) && v > 0) &&
    (d.labelMode === 'binary' || d.labelMode === 'categorical') &&
    typeof d.batchSize === 'number' &&
    Number.isInteger(d.batchSize) &&
    d.batchSize > 0 &&
    isDataset(d.trainBatches) &&
    isDataset(d.validationBatches) &&
    isDataset(d.testBatches);
  if (!ok) {
    throw new InvalidArgumentError(call, 'data', 'an ImageBatchSource (e.g. a DataLoader) with at least 2 classes', data);
  }
}

/** Validates an optional `steps` option. */
export function checkSteps(call: string, steps: unknown): void {
  if (steps !== undefined) checkPositiveInteger(call, 'steps', steps);
}

/** Validates a split name. */
export function checkSplit(call: string, split: unknown): asserts split is SplitName {
  checkOneOf(call, 'split', split, ['train', 'validation', 'test']);
}

/** What the batches of one split must be: float32 images of the source's size, targets of its label mode. */
export interface BatchShape {
  readonly call: string;
  readonly split: string;
  readonly height: number;
  readonly width: number;
  /** Columns of `ys`: 1 for binary, the number of classes for categorical. */
  readonly targets: number;
}

/** The {@link BatchShape} of a split of `data` (already checked with {@link checkSource}). */
export function batchShape(call: string, split: string, data: ImageBatchSource): BatchShape {
  const [height, width] = data.imageSize;
  return { call, split, height, width, targets: data.labelMode === 'binary' ? 1 : data.labelNames.length };
}

/** What a dataset iterator hands out (a tfjs-data iterator, or anything with the same `next`). */
export interface BatchIterator {
  next(): Promise<IteratorResult<Batch>>;
}

/**
 * `iterator` with every batch checked against `shape` before anyone uses it. A source of the caller's own can yield
 * anything; a batch that does not fit is freed and is a {@link DatasetError} naming the split and the batch, where
 * tfjs would fail half-way through a step with a raw error and leave that step's tensors behind.
 */
export function checkedBatches(iterator: BatchIterator, shape: BatchShape): BatchIterator {
  let index = 0;
  return {
    next: async () => {
      const next = await iterator.next();
      if (!next.done) checkBatch(shape, next.value, index++);
      return next;
    },
  };
}

function checkBatch(shape: BatchShape, batch: unknown, index: number): void {
  const { xs, ys } = (typeof batch === 'object' && batch !== null ? batch : {}) as Partial<Batch>;
  const live = (t: unknown): t is tf.Tensor => t instanceof tf.Tensor && !t.isDisposed;
  const fits =
    live(xs) &&
    live(ys) &&
    xs.dtype === 'float32' &&
    xs.rank === 4 &&
    xs.shape[0] > 0 &&
    xs.shape[1] === shape.height &&
    xs.shape[2] === shape.width &&
    xs.shape[3] === 3 &&
    (ys.dtype === 'float32' || ys.dtype === 'int32') &&
    ys.rank === 2 &&
    ys.shape[0] === xs.shape[0] &&
    ys.shape[1] === shape.targets;
  if (fits) return;
  const show = (t: unknown): string => (live(t) ? `${t.dtype} [${t.shape.join(', ')}]` : t instanceof tf.Tensor ? 'a disposed tensor' : typeof t);
  const got = typeof batch === 'object' && batch !== null && !Array.isArray(batch) ? `{ xs: ${show(xs)}, ys: ${show(ys)} }` : Array.isArray(batch) ? 'an array' : typeof batch;
  for (const t of [xs, ys]) if (live(t)) t.dispose();
  throw new DatasetError(
    `${shape.call}: batch ${index} of the ${shape.split} split must be { xs: float32 [n, ${shape.height}, ${shape.width}, 3], ys: [n, ${shape.targets}] }, got ${got}`,
  );
}
