/** Argument checks shared by the pipeline's public calls. */
import * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource, SplitName } from '../data/types';
import { InvalidArgumentError } from '../errors';
import { checkOneOf, checkPositiveInteger } from '../internal/validate';

/** Throws unless `model` is a tfjs LayersModel. */
export function checkModel(call: string, model: unknown): asserts model is tfl.LayersModel {
  if (!(model instanceof tfl.LayersModel)) {
    throw new InvalidArgumentError(call, 'model', 'a tf.LayersModel (e.g. from Wrapper)', model);
  }
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

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
    typeof d.trainBatches === 'object' &&
    typeof d.validationBatches === 'object' &&
    typeof d.testBatches === 'object';
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
