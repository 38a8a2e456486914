/**
 * The demo's random-weight control on the real MobileNetV2 architecture (nsfwjs's topology, 32 px, 8 images, cpu):
 * with BatchNorm's initial statistics its features collapse (the degenerate control the demo used to run); with the
 * statistics re-estimated they keep a usable scale, and every BatchNorm layer then normalises its input on the
 * calibration images exactly as inference computes it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutTopology, randomBase, type RandomBase } from '../../demo/random-base';
import { loadNsfwBase } from '../../src/nsfwjs/index';
import type { BaseSpec } from '../../src/index';

let spec: BaseSpec;
let control: RandomBase;
let images: tf.Tensor4D;

beforeAll(async () => {
  spec = await loadNsfwBase('mobilenet_v2');
  // Clothes-like inputs in [0, 1]: smooth blobs plus noise, seeded.
  images = tf.tidy(() => {
    const noise = tf.randomUniform([8, 32, 32, 3], 0, 1, 'float32', 7);
    const blob = tf.reshape(tf.linspace(0, 1, 32), [1, 32, 1, 1]);
    return tf.clipByValue(tf.add(tf.mul(noise, 0.4), tf.mul(blob, 0.6)), 0, 1) as tf.Tensor4D;
  });
  control = await randomBase(spec.model as tfl.LayersModel, spec.cutAt as string, 32, images, 42);
}, 60_000);

afterAll(() => {
  control?.model.dispose();
  (spec?.model as tfl.LayersModel | undefined)?.dispose();
  images?.dispose();
});

describe('demo control: random MobileNetV2', () => {
  it('keeps the architecture up to the feature layer at the requested size', () => {
    expect(control.model.inputs[0]?.shape).toEqual([null, 32, 32, 3]);
    expect(control.model.outputs[0]?.shape).toEqual([null, 1, 1, 1280]);
    expect(control.model.layers.at(-1)?.name).toBe(spec.cutAt);
    expect(control.batchNormLayers).toBe(52);
    const source = cutTopology(spec.model as tfl.LayersModel, spec.cutAt as string, 32);
    expect(source.config.layers.some((l) => l.class_name === 'Dense')).toBe(false);
  });

  it('re-estimated statistics lift the pooled features from collapse to the scale a head can learn from', () => {
    // What the old control fed its head (the topology's Glorot initialisers, initial BatchNorm statistics): a
    // near-constant input.
    expect(control.initialScale.std).toBeLessThan(1e-3);
    // He normal kernels and re-estimated statistics: the order of one, like the pretrained base's pooled features.
    for (const scale of [control.heScale, control.scale]) {
      expect(scale.std).toBeGreaterThan(0.05);
      expect(scale.std).toBeLessThan(10);
      expect(Number.isFinite(scale.mean)).toBe(true);
    }
  });

  it('leaves every BatchNorm layer normalising its input over the calibration images, as inference computes it', () => {
    const bns = control.model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    // The first, one in the middle and the last: their inputs in inference mode must have the stored statistics.
    for (const bn of [bns[0], bns[25], bns.at(-1)] as tfl.layers.Layer[]) {
      const probe = tfl.model({ inputs: control.model.inputs, outputs: bn.input as tfl.SymbolicTensor });
      const [, , movingMean, movingVariance] = bn.getWeights() as tf.Tensor[];
      const gaps = tf.tidy(() => {
        const { mean, variance } = tf.moments(probe.predict(images) as tf.Tensor, [0, 1, 2]);
        const relative = tf.div(tf.abs(tf.sub(variance, movingVariance!)), tf.add(movingVariance!, 1e-6));
        return [tf.max(tf.abs(tf.sub(mean, movingMean!))).dataSync()[0]!, tf.max(relative).dataSync()[0]!];
      });
      expect(gaps[0]).toBeLessThan(1e-3 * Math.max(1, tf.tidy(() => tf.max(tf.abs(movingMean!)).dataSync()[0]!)));
      expect(gaps[1]).toBeLessThan(1e-3);
    }
  });

  it('is seeded: the same seed gives the same weights, another seed other weights', async () => {
    const again = await randomBase(spec.model as tfl.LayersModel, spec.cutAt as string, 32, images, 42);
    const other = await randomBase(spec.model as tfl.LayersModel, spec.cutAt as string, 32, images, 43);
    try {
      const kernel = (m: tfl.LayersModel): Float32Array => m.getLayer('Conv1').getWeights()[0]!.dataSync() as Float32Array;
      expect(Array.from(kernel(again.model))).toEqual(Array.from(kernel(control.model)));
      expect(Array.from(kernel(other.model))).not.toEqual(Array.from(kernel(control.model)));
      expect(again.scale).toEqual(control.scale);
      expect(again.heScale).toEqual(control.heScale);
    } finally {
      again.model.dispose();
      other.model.dispose();
    }
  });

  it('leaks no tensor', async () => {
    const before = tf.memory().numTensors;
    const made = await randomBase(spec.model as tfl.LayersModel, spec.cutAt as string, 32, images, 1);
    made.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
