/** Shared helpers for the Keras tests: the committed fixtures and a tfjs twin of the tiny Keras model. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folder of the committed Keras fixtures (see test/fixtures/keras/README.md). */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'keras');

/** A fixture's path. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** Input and Keras's output for a fixture model, from `<name>.reference.json`. */
export function reference(name: string): { input: number[][][][]; output: number[][] } {
  return JSON.parse(readFileSync(fixture(`${name}.reference.json`), 'utf8')) as { input: number[][][][]; output: number[][] };
}

/** Max |model(input) - Keras output| over the fixture's reference input. */
export function maxDiff(model: tfl.LayersModel, name: string): number {
  const ref = reference(name);
  const got = tf.tidy(() => (model.predict(tf.tensor4d(ref.input)) as tf.Tensor).arraySync() as number[][]);
  let diff = 0;
  ref.output.forEach((row, i) => row.forEach((v, j) => (diff = Math.max(diff, Math.abs(v - (got[i]?.[j] ?? NaN))))));
  return diff;
}

/** The tiny fixture's architecture written with tfjs-layers; `rename` changes every layer name,
 * `units` the size of the output layer. */
export function tinyTwin(rename = (n: string) => n, units = 3): tfl.LayersModel {
  const L = tfl.layers;
  const input = tfl.input({ shape: [8, 8, 3], name: rename('image') });
  let x = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: rename('conv') }).apply(input) as tfl.SymbolicTensor;
  x = L.batchNormalization({ name: rename('bn') }).apply(x) as tfl.SymbolicTensor;
  x = L.reLU({ name: rename('relu') }).apply(x) as tfl.SymbolicTensor;
  const y = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: rename('dw') }).apply(x) as tfl.SymbolicTensor;
  x = L.add({ name: rename('add') }).apply([x, y]) as tfl.SymbolicTensor;
  x = L.globalAveragePooling2d({ name: rename('gap') }).apply(x) as tfl.SymbolicTensor;
  x = L.dense({ units, activation: 'softmax', name: rename('probs') }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: x });
}
