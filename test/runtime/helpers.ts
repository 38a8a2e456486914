/** Tiny models with seeded, non-trivial weights (BatchNorm statistics included) for the speed tests. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng } from '../../src/internal/rng';

/**
 * Sets every weight of `model` to seeded values: BatchNorm variances in [0.5, 1.5] (positive), everything else in
 * [-0.5, 0.5], so folding changes the numbers instead of multiplying by one.
 */
export function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const rng = createRng(seed);
  const values = model.weights.map((w) => {
    const shape = w.shape.map((d) => d ?? 1);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const isVariance = /variance/i.test(w.name);
    for (let i = 0; i < size; i++) data[i] = isVariance ? 0.5 + rng.next() : rng.next() - 0.5;
    return tf.tensor(data, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** A seeded input batch in [0, 1). */
export function randomImages(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = createRng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.next();
  return tf.tensor4d(data, shape);
}

/** Largest absolute difference between two same-shaped tensors, relative to the largest magnitude of `expected`. */
export function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  const a = actual.dataSync();
  const e = expected.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (e[i] as number)));
    scale = Math.max(scale, Math.abs(e[i] as number));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Builds a functional model from an input shape and a function of the input. */
export function functional(
  inputShape: number[],
  body: (x: tfl.SymbolicTensor) => tfl.SymbolicTensor | tfl.SymbolicTensor[],
  seed = 1,
): tfl.LayersModel {
  const input = tfl.input({ shape: inputShape });
  const model = tfl.model({ inputs: input, outputs: body(input) });
  randomizeWeights(model, seed);
  return model;
}
