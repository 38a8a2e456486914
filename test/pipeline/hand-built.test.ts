/**
 * A model a user built by hand in the Wrapper's shape (nested base, global pooling, head) gets what a Wrapper model
 * gets: cached features in fit with the base untouched, and fineTune.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/pipeline/evaluate';
import { fineTune } from '../../src/pipeline/fine-tune';
import { fit } from '../../src/pipeline/fit';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from './helpers';

function handBuilt(): { model: tfl.LayersModel; base: tfl.LayersModel } {
  const base = tinyConvBnBase();
  base.trainable = false; // the Keras recipe: base.trainable = False
  const input = tfl.input({ shape: [8, 8, 3] });
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(base.apply(input)) as tfl.SymbolicTensor;
  const output = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(pooled) as tfl.SymbolicTensor;
  return { model: tfl.model({ inputs: input, outputs: output }), base };
}

const weightsOf = (model: tfl.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

describe('a hand-built Wrapper-shaped model', () => {
  it('trains its head on cached features and leaves the base (BatchNorm statistics included) bit-identical', async () => {
    const data = makeTestSource({ perSplit: { train: 48, validation: 24, test: 24 } });
    const { model, base } = handBuilt();
    const baseBefore = weightsOf(base);
    const history = await fit(model, data, { epochs: 25, learningRate: 0.05 });
    expect(history.params['path']).toBe('cached');
    // 'auto': onnxruntime-node is installed (a devDependency) and every layer of the base converts.
    expect(history.runtime).toMatchObject({ engine: 'onnxruntime', implementation: 'onnxruntime' });
    expect(weightsOf(base)).toEqual(baseBefore);
    const result = await evaluate(model, data);
    expect(result.runtime?.engine).toBe('onnxruntime');
    expect(result.accuracy).toBeGreaterThanOrEqual(0.9);
    model.dispose();
    data.dispose();
  });

  it('fine-tunes: the unfrozen top of the base moves, the rest does not, and flags are restored', async () => {
    const data = makeTestSource();
    const { model, base } = handBuilt();
    await fit(model, data, { epochs: 2, learningRate: 0.05 });
    const conv1 = Array.from(base.getLayer('conv1').getWeights()[0]!.dataSync());
    const conv2 = Array.from(base.getLayer('conv2').getWeights()[0]!.dataSync());
    const history = await fineTune(model, data, { fromLayer: 'conv2', epochs: 2, learningRate: 0.01 });
    expect(history.params['path']).toBe('naive');
    expect(Array.from(base.getLayer('conv1').getWeights()[0]!.dataSync())).toEqual(conv1);
    expect(Array.from(base.getLayer('conv2').getWeights()[0]!.dataSync())).not.toEqual(conv2);
    expect(base.trainableWeights).toEqual([]); // frozen again, as before fineTune
    const before = tf.memory().numTensors;
    await evaluate(model, data);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    data.dispose();
  });
});
