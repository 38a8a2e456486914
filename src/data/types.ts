/**
 * Types shared by the data loader and the training pipeline. The pipeline consumes any {@link ImageBatchSource},
 * so a user can also hand it their own source.
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfd from '@tensorflow/tfjs-data';

/**
 * The three splits of a dataset.
 *
 * @category data
 */
export type SplitName = 'train' | 'validation' | 'test';

/**
 * One batch: images `[batch, height, width, 3]` (float32, preprocessed) and targets `[batch, k]`.
 *
 * @category data
 */
export type Batch = {
  /** Preprocessed images, float32 `[batch, height, width, 3]`. */
  xs: tf.Tensor4D;
  /** Targets: `[batch, 1]` (0/1) for `binary`, one-hot `[batch, numClasses]` for `categorical`. */
  ys: tf.Tensor2D;
};

/**
 * How pixels are scaled before they reach the base, matching the base's training:
 * - `'tf'`: [-1, 1] (Keras MobileNet, Inception, ResNetV2).
 * - `'caffe'`: BGR channel order with the ImageNet mean subtracted (VGG16, ResNet50 v1).
 * - `'torch'`: [0, 1] then ImageNet mean/std normalised per channel.
 * - `'unit'`: [0, 1].
 * - `'none'`: 0..255 as float.
 * - a function that receives float32 0..255 RGB images `[batch, h, w, 3]` and returns the preprocessed tensor.
 *
 * @category data
 */
export type PreprocessingMode =
  | 'tf'
  | 'caffe'
  | 'torch'
  | 'unit'
  | 'none'
  | ((images: tf.Tensor4D) => tf.Tensor4D);

/**
 * How an image is brought to `imageSize`: stretched, centre-cropped to the aspect ratio, or padded (letterboxed).
 *
 * @category data
 */
export type ResizeMode = 'stretch' | 'center-crop' | 'pad';

/**
 * Label encoding: one sigmoid target for two classes (`binary`), one-hot (`categorical`).
 *
 * @category data
 */
export type LabelMode = 'binary' | 'categorical';

/**
 * Number of examples in each split.
 *
 * @category data
 */
export interface SplitCounts {
  /** Training examples. */
  readonly train: number;
  /** Validation examples. */
  readonly validation: number;
  /** Test examples. */
  readonly test: number;
}

/**
 * What the training pipeline needs from a dataset. {@link DataLoader} implements it; any object with these members
 * can be passed to `fit`, `evaluate` and friends.
 *
 * @category data
 */
export interface ImageBatchSource {
  /** Class names, index = class id. */
  readonly labelNames: readonly string[];
  /** Examples per split. */
  readonly numExamples: SplitCounts;
  /** `[height, width]` of the images in every batch. */
  readonly imageSize: readonly [number, number];
  /** How targets are encoded. */
  readonly labelMode: LabelMode;
  /** Images per batch. */
  readonly batchSize: number;
  /** Pixel scaling applied to every image. */
  readonly preprocessing: PreprocessingMode;
  /** How images were brought to `imageSize`. */
  readonly resize: ResizeMode;
  /** True when training batches are randomly augmented (then features cannot be cached). */
  readonly augmented: boolean;
  /** Training batches, reshuffled every epoch with the loader's seed. */
  readonly trainBatches: tfd.Dataset<Batch>;
  /** Validation batches, in a fixed order. */
  readonly validationBatches: tfd.Dataset<Batch>;
  /** Test batches, in a fixed order. */
  readonly testBatches: tfd.Dataset<Batch>;
  /**
   * Optional: the batches of a split in a chosen order; `fit` with `shuffle: false` on full images needs it to take
   * the training split unshuffled. A {@link DataLoader} has it.
   */
  batches?(split: SplitName, options: { readonly shuffle: boolean }): tfd.Dataset<Batch>;
}
