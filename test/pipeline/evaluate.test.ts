import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { evaluate, evaluateBaseline } from '../../src/pipeline/evaluate';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource, sourceFrom } from './helpers';

/** Images whose every pixel is `v`. */
function flat(values: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.ones([values.length, 2, 2, 3]), tf.reshape(tf.tensor1d(values), [-1, 1, 1, 1])) as tf.Tensor4D);
}

/** [2,2,3] -> mean over pixels and channels -> one unit: sigmoid(20 * (mean - 0.5)), or softmax over channel means. */
function brightnessModel(units: 1 | 3): tfl.LayersModel {
  const input = tfl.input({ shape: [2, 2, 3] });
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(input) as tfl.SymbolicTensor;
  const dense = tfl.layers.dense({ units, activation: units === 1 ? 'sigmoid' : 'softmax' });
  const model = tfl.model({ inputs: input, outputs: dense.apply(pooled) as tfl.SymbolicTensor });
  if (units === 1) dense.setWeights([tf.fill([3, 1], 20 / 3), tf.tensor1d([-10])]);
  else dense.setWeights([tf.mul(tf.eye(3), 10), tf.zeros([3])]);
  return model;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('evaluate', () => {
  it('binary: accuracy, precision, recall, F1, ROC AUC and loss match hand-computed values', async () => {
    // test images: brightness 0.1, 0.4, 0.6, 0.9 with labels 0, 1, 0, 1
    // scores sigmoid(20*(b-0.5)): 0.018, 0.119, 0.881, 0.982 -> predicted 0, 0, 1, 1
    // confusion [[1,1],[1,1]]: accuracy 0.5, precision 1/2, recall 1/2, F1 1/2
    // ROC AUC: positives {0.119, 0.982} vs negatives {0.018, 0.881}: 3 of 4 pairs ordered -> 0.75
    const split = () => ({ xs: flat([0.1, 0.4, 0.6, 0.9]), labels: [0, 1, 0, 1] });
    const data = sourceFrom({ train: split(), validation: split(), test: split() }, 2, 3);
    const model = brightnessModel(1);
    const before = tf.memory().numTensors;
    const r = await evaluate(model, data);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.exampleCount).toBe(4);
    expect(r.accuracy).toBe(0.5);
    expect(r.confusionMatrix).toEqual([
      [1, 1],
      [1, 1],
    ]);
    expect(r.precision).toBeCloseTo(0.5, 6);
    expect(r.recall).toBeCloseTo(0.5, 6);
    expect(r.f1).toBeCloseTo(0.5, 6);
    expect(r.rocAuc).toBeCloseTo(0.75, 6);
    const p = [0.1, 0.4, 0.6, 0.9].map((b) => sigmoid(20 * (b - 0.5)));
    const y = [0, 1, 0, 1];
    const loss = -p.reduce((s, pi, i) => s + (y[i] ? Math.log(pi) : Math.log(1 - pi)), 0) / 4;
    expect(r.loss).toBeCloseTo(loss, 4);
    expect(r.perClass.map((c) => c.label)).toEqual(['dark', 'bright']);
    const base = await evaluateBaseline(model, data, { steps: 1 });
    // steps: 1 -> the first batch of 3: predicted 0,0,1 vs labels 0,1,0 -> 1/3
    expect(base.exampleCount).toBe(3);
    expect(base.accuracy).toBeCloseTo(1 / 3, 6);
    model.dispose();
    data.dispose();
  });

  it('multi-class: per-class metrics with label names, macro averages and the confusion matrix', async () => {
    // pixel (r, g, b): class = brightest channel. Test set of 5:
    const pix = [
      [0.9, 0.1, 0.1, 0], // red -> red
      [0.1, 0.9, 0.1, 1], // green -> green
      [0.1, 0.1, 0.9, 2], // blue -> blue
      [0.9, 0.1, 0.1, 1], // labelled green, predicted red
      [0.1, 0.1, 0.9, 2], // blue -> blue
    ];
    const xs = tf.tidy(() =>
      tf.mul(tf.ones([5, 2, 2, 3]), tf.reshape(tf.tensor2d(pix.map((r) => r.slice(0, 3))), [5, 1, 1, 3])),
    ) as tf.Tensor4D;
    const labels = pix.map((r) => r[3]!);
    const split = () => ({ xs: tf.clone(xs), labels });
    const data = sourceFrom({ train: split(), validation: split(), test: split() }, 3, 2);
    xs.dispose();
    const model = brightnessModel(3);
    const before = tf.memory().numTensors;
    const r = await evaluate(model, data, { split: 'validation' });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.split).toBe('validation');
    expect(r.accuracy).toBeCloseTo(4 / 5, 6);
    expect(r.confusionMatrix).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 0, 2],
    ]);
    // red: p 1/2 r 1 f1 2/3; green: p 1 r 1/2 f1 2/3; blue: p 1 r 1 f1 1
    expect(r.perClass.map((c) => c.label)).toEqual(['red', 'green', 'blue']);
    expect(r.perClass[0]!.precision).toBeCloseTo(0.5, 6);
    expect(r.perClass[1]!.recall).toBeCloseTo(0.5, 6);
    expect(r.perClass[0]!.f1).toBeCloseTo(2 / 3, 6);
    expect(r.macro.precision).toBeCloseTo((0.5 + 1 + 1) / 3, 6);
    expect(r.macro.recall).toBeCloseTo((1 + 0.5 + 1) / 3, 6);
    expect(r.macro.f1).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 6);
    expect(r.precision).toBeUndefined();
    expect(r.rocAuc).toBeUndefined();
    model.dispose();
    data.dispose();
  });

  it('a Wrapper model evaluates through the feature extractor like model.predict, without leaks', async () => {
    const data = makeTestSource({ numClasses: 3 });
    const model = Wrapper(tinyConvBnBase(), { numClasses: 3, seed: 2 });
    const before = tf.memory().numTensors;
    const r = await evaluate(model, data);
    const b = await evaluateBaseline(model, data);
    expect(tf.memory().numTensors).toBe(before);
    const { xs, labels } = data.split('test');
    const predicted = tf.tidy(() => Array.from(tf.argMax(model.predict(xs) as tf.Tensor, -1).dataSync()));
    const acc = predicted.filter((p, i) => p === labels[i]).length / labels.length;
    expect(r.accuracy).toBeCloseTo(acc, 6);
    expect(b.exampleCount).toBe(12);
    model.dispose();
    data.dispose();
  });

  it('rejects bad options with typed errors', async () => {
    const data = makeTestSource();
    const model = brightnessModel(1);
    await expect(evaluate(model, data, { steps: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: evaluate: steps must be a positive integer, got 0]`);
    await expect(evaluate(model, data, { split: 'training' as 'train' })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: evaluate: split must be one of 'train', 'validation', 'test', got "training"]`);
    await expect(evaluateBaseline(model, data, { steps: 1.5 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: evaluateBaseline: steps must be a positive integer, got 1.5]`);
    await expect(evaluate({} as tfl.LayersModel, data)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: evaluate: model must be a tf.LayersModel (e.g. from Wrapper), got {}]`);
    const noValidation = { ...data, numExamples: { ...data.numExamples, validation: 0 }, validationBatches: data.testBatches.take(0) };
    const wrapped = Wrapper(tinyConvBnBase());
    await expect(evaluateBaseline(wrapped, noValidation)).rejects.toThrowErrorMatchingInlineSnapshot(`[DatasetError: evaluateBaseline: the validation split has no examples to evaluate]`);
    wrapped.dispose();
    model.dispose();
    data.dispose();
  });
});
