/** Differential checks of the ONNX converter: ONNX Runtime's output against tfjs `model.predict` on the same batch. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { convertLayersModel, type ConvertLayersModelOptions, type OnnxConversion } from '../../../src/runtime/onnx/convert';
import { createOnnxSession } from '../../../src/runtime/onnx/session';
import { randomImages } from '../helpers';

/** Largest |a - e| over the largest |e|: the parity metric of the ONNX engine. */
export function relativeDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(a) !== Number.isNaN(e)) return Number.POSITIVE_INFINITY;
    diff = Math.max(diff, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  return diff / Math.max(scale, 1e-12);
}

export interface ParityResult {
  /** Largest relative difference over all seeds. */
  readonly error: number;
  readonly conversion: OnnxConversion;
  /** Shape ORT returned (the last seed's). */
  readonly shape: readonly number[];
}

/**
 * Converts `model`, runs ORT and `model.predict` (pooled like the conversion when `pooling` is set) on seeded random
 * batches in [-1, 1), and returns the largest relative difference.
 */
export async function ortParity(
  model: tfl.LayersModel,
  batch: number,
  seeds: readonly number[] = [1],
  options: ConvertLayersModelOptions = {},
  threads = 1,
): Promise<ParityResult> {
  const conversion = await convertLayersModel(model, options);
  const session = await createOnnxSession('test', conversion.bytes, { intraOpNumThreads: threads });
  let error = 0;
  let shape: readonly number[] = [];
  try {
    for (const seed of seeds) {
      const x = tf.tidy(() => tf.sub(tf.mul(randomImages([batch, ...conversion.inputShape], seed), 2), 1));
      const expected = tf.tidy(() => {
        const y = model.predict(x) as tf.Tensor;
        if (options.pooling === 'avg' && y.rank === 4) return tf.mean(y, [1, 2]);
        if (options.pooling === 'max' && y.rank === 4) return tf.max(y, [1, 2]);
        return y;
      });
      const out = await session.run(x.dataSync() as Float32Array, x.shape);
      if (out.shape.join() !== expected.shape.join()) {
        throw new Error(`ORT shape [${out.shape.join(', ')}] != tfjs shape [${expected.shape.join(', ')}]`);
      }
      error = Math.max(error, relativeDiff(out.data, expected.dataSync()));
      shape = out.shape;
      tf.dispose([x, expected]);
    }
  } finally {
    await session.release();
  }
  return { error, conversion, shape };
}

/**
 * Gives every BatchNormalization of `model` seeded non-trivial statistics (gamma in [0.5, 1.5], beta in [-0.5, 0.5],
 * moving mean in [-1, 1], variance in [0.3, 3]), whatever its `scale` / `center` flags, so folding is visible.
 */
export function randomizeBatchNorms(model: tfl.LayersModel, seed: number): void {
  let k = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const config = layer.getConfig();
    const n = layer.getWeights()[0]?.shape[0] ?? 0;
    const s = seed * 1000 + 4 * k++;
    const values = [
      ...(config['scale'] === false ? [] : [tf.randomUniform([n], 0.5, 1.5, 'float32', s)]),
      ...(config['center'] === false ? [] : [tf.randomUniform([n], -0.5, 0.5, 'float32', s + 1)]),
      tf.randomUniform([n], -1, 1, 'float32', s + 2),
      tf.randomUniform([n], 0.3, 3, 'float32', s + 3),
    ];
    layer.setWeights(values);
    tf.dispose(values);
  }
}
