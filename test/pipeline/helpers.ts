/**
 * A small in-memory {@link ImageBatchSource} for pipeline tests, built from generated images. Batches come in a fixed
 * order (no reshuffle), so the cached and naive paths can be compared batch for batch.
 *
 * Task: "bright vs dark" for two classes (class 1 images are brighter), "which channel is brightest" for more.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import type { Batch, ImageBatchSource, LabelMode } from '../../src/data/types';
import { createRng } from '../../src/internal/rng';

export interface TestSourceOptions {
  readonly numClasses?: number;
  readonly perSplit?: { train: number; validation: number; test: number };
  readonly imageSize?: [number, number];
  readonly batchSize?: number;
  readonly augmented?: boolean;
  readonly seed?: number;
  /** Make labels independent of the pixels (nothing to learn). */
  readonly randomLabels?: boolean;
  /** Target encoding; default binary for two classes (categorical gives two classes one-hot targets). */
  readonly labelMode?: LabelMode;
}

export interface TestSource extends ImageBatchSource {
  /** Frees the stored tensors. */
  dispose(): void;
  /** The stored images and class ids of a split. */
  split(name: 'train' | 'validation' | 'test'): { xs: tf.Tensor4D; labels: number[] };
}

function makeSplit(n: number, k: number, size: [number, number], seed: number, randomLabels: boolean) {
  const rng = createRng(seed);
  const [h, w] = size;
  const pixels = new Float32Array(n * h * w * 3);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % k;
    labels.push(randomLabels ? rng.nextInt(k) : label);
    for (let p = 0; p < h * w; p++) {
      for (let c = 0; c < 3; c++) {
        const signal = k === 2 ? (label === 1 ? 0.9 : 0.1) : c === label ? 0.9 : 0.1;
        pixels[(i * h * w + p) * 3 + c] = signal + (rng.next() - 0.5) * 0.2;
      }
    }
  }
  return { xs: tf.tensor4d(pixels, [n, h, w, 3]), labels };
}

export function makeTestSource(options: TestSourceOptions = {}): TestSource {
  const k = options.numClasses ?? 2;
  const per = options.perSplit ?? { train: 24, validation: 12, test: 12 };
  const imageSize = options.imageSize ?? [8, 8];
  const seed = options.seed ?? 1;
  const random = options.randomLabels ?? false;
  const stored = {
    train: makeSplit(per.train, k, imageSize, seed, random),
    validation: makeSplit(per.validation, k, imageSize, seed + 1, random),
    test: makeSplit(per.test, k, imageSize, seed + 2, random),
  };
  return sourceFrom(stored, k, options.batchSize ?? 8, options.augmented ?? false, options.labelMode);
}

type Stored = Record<'train' | 'validation' | 'test', { xs: tf.Tensor4D; labels: number[] }>;

/** A source over given images and class ids (the source owns the tensors: dispose() frees them). */
export function sourceFrom(stored: Stored, k: number, batchSize: number, augmented = false, mode?: LabelMode): TestSource {
  const labelMode: LabelMode = mode ?? (k === 2 ? 'binary' : 'categorical');
  const per = {
    train: stored.train.labels.length,
    validation: stored.validation.labels.length,
    test: stored.test.labels.length,
  };
  const imageSize = [stored.train.xs.shape[1], stored.train.xs.shape[2]] as [number, number];
  const targets = (labels: number[]): tf.Tensor2D =>
    labelMode === 'binary'
      ? tf.tensor2d(labels, [labels.length, 1])
      : (tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), k), 'float32') as tf.Tensor2D);
  const dataset = (name: 'train' | 'validation' | 'test'): tfd.Dataset<Batch> =>
    tfd.generator(function* () {
      const { xs, labels } = stored[name];
      for (let start = 0; start < labels.length; start += batchSize) {
        const end = Math.min(labels.length, start + batchSize);
        const batch: Batch = {
          xs: tf.slice(xs, [start, 0, 0, 0], [end - start, -1, -1, -1]),
          ys: tf.tidy(() => targets(labels.slice(start, end))),
        };
        yield batch;
      }
    }) as unknown as tfd.Dataset<Batch>;
  return {
    labelNames: k === 2 ? ['dark', 'bright'] : Array.from({ length: k }, (_, i) => ['red', 'green', 'blue'][i] ?? `c${i}`),
    numExamples: { ...per },
    imageSize,
    labelMode,
    batchSize,
    preprocessing: 'unit',
    resize: 'stretch',
    augmented,
    trainBatches: dataset('train'),
    validationBatches: dataset('validation'),
    testBatches: dataset('test'),
    split: (name) => stored[name],
    dispose: () => tf.dispose([stored.train.xs, stored.validation.xs, stored.test.xs]),
  };
}
