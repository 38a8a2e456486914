/** Head / loss / label combinations that can never learn are refused before training, whoever compiled the model. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { fit } from '../../src/pipeline/fit';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from './helpers';

/** The tiny base under pooling and one Dense layer of `units` with `activation`. */
function classifier(units: number, activation: string): { model: tfl.LayersModel; base: tfl.LayersModel } {
  const base = tinyConvBnBase();
  const input = tfl.input({ shape: [8, 8, 3] });
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(base.apply(input)) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units, activation: activation as 'linear' }).apply(pooled) as tfl.SymbolicTensor;
  return { model: tfl.model({ inputs: input, outputs: out }), base };
}

describe('fit refuses heads that cannot learn', () => {
  it('categorical cross-entropy on one sigmoid unit (loss exactly 0), whoever compiled it', async () => {
    const data = makeTestSource();
    const { model } = classifier(1, 'sigmoid');
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const before = tf.memory().numTensors;
    await expect(fit(model, data, { epochs: 1 })).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: fit: the model is compiled with 'categoricalCrossentropy' on one output unit, whose loss is 0 for every weight, so training could never learn; use one sigmoid unit with 'binaryCrossentropy' (Wrapper's default for two classes)]`);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    data.dispose();
  });

  it('a softmax over one unit (always 1), compiled or not', async () => {
    const data = makeTestSource();
    const { model } = classifier(1, 'softmax');
    await expect(fit(model, data, { epochs: 1 })).rejects.toThrow(/the output layer has activation 'softmax', but binary cross-entropy needs probabilities from 'sigmoid'.*end the model in a Dense layer with activation 'sigmoid' and one unit/);
    model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
    await expect(fit(model, data, { epochs: 1 })).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: fit: the output is a softmax over one unit, which is always 1 (the loss cannot change), so training could never learn; use one sigmoid unit with 'binaryCrossentropy' (Wrapper's default for two classes)]`);
    model.dispose();
    data.dispose();
  });

  it('cross-entropy on logits (a linear head), named by tfjs function or by string', async () => {
    const data = makeTestSource({ numClasses: 3 });
    const { model } = classifier(3, 'linear');
    model.compile({ optimizer: 'adam', loss: tfl.metrics.categoricalCrossentropy });
    await expect(fit(model, data, { epochs: 1 })).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: fit: the output activation is 'linear' but 'categoricalCrossentropy' needs probabilities (a linear Dense under cross-entropy is a known tutorial bug), so training could never learn; use 3 softmax units with 'categoricalCrossentropy' (Wrapper's default with labelMode 'categorical')]`);
    model.dispose();
    data.dispose();
  });

  it('trains the combinations that work, including a loss the user chose (mean squared error)', async () => {
    const data = makeTestSource();
    const { model } = classifier(1, 'sigmoid');
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const history = await fit(model, data, { epochs: 2 });
    expect(history.epoch).toHaveLength(2);
    model.dispose();
    data.dispose();
  });
});
