import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { fit } from '../../src/pipeline/fit';
import { evaluate, evaluateBaseline } from '../../src/pipeline/evaluate';
import { earlyStopping, type TrainingCallback } from '../../src/pipeline/callbacks';
import { fineTune } from '../../src/pipeline/fine-tune';
import { unfreeze } from '../../src/models/unfreeze';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource, type TestSource } from './helpers';

const sources: TestSource[] = [];
function source(...args: Parameters<typeof makeTestSource>): TestSource {
  const s = makeTestSource(...args);
  sources.push(s);
  return s;
}
afterEach(() => {
  sources.splice(0).forEach((s) => s.dispose());
});

function wrapped(numClasses = 2, seed = 0): tfl.LayersModel {
  return Wrapper(tinyConvBnBase(), { numClasses, seed });
}

describe('fit', () => {
  it('refuses a misspelt option (epoch for epochs) instead of training 10 epochs', async () => {
    const data = makeTestSource({ perSplit: { train: 4, validation: 2, test: 2 } });
    const model = Wrapper(tinyConvBnBase());
    await expect(fit(model, data, { epoch: 1 } as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: options must be known option names (did you mean 'epochs'?), got "epoch"]`);
    await expect(evaluate(model, data, { step: 1 } as never)).rejects.toThrow(/did you mean 'steps'/);
    model.dispose();
    data.dispose();
  });

  it('classWeight multiplies each example\'s training loss by its class\'s weight', async () => {
    // One batch per epoch: the epoch's loss is that batch's, computed before the update, so weights show exactly.
    const data = source({ perSplit: { train: 8, validation: 4, test: 4 }, batchSize: 8 });
    const firstLoss = async (classWeight?: Record<number, number>): Promise<number> => {
      const model = wrapped(2, 3);
      const history = await fit(model, data, { epochs: 1, shuffle: false, ...(classWeight ? { classWeight } : {}) });
      model.dispose();
      return history.history.loss![0] as number;
    };
    const plain = await firstLoss();
    expect(await firstLoss({ 0: 2, 1: 2 })).toBeCloseTo(2 * plain, 5);
    const skewed = await firstLoss({ 0: 1, 1: 3 });
    expect(skewed).toBeGreaterThan(plain * 1.2);
    expect(skewed).toBeLessThan(plain * 3);
  });

  it('frees the class weights when a callback throws in onTrainBegin', async () => {
    const data = source({ perSplit: { train: 8, validation: 4, test: 4 } });
    const model = wrapped();
    await fit(model, data, { epochs: 1 }); // the optimizer's state exists before counting
    const before = tf.memory().numTensors;
    const failing: TrainingCallback = {
      onTrainBegin: () => {
        throw new Error('callback failed');
      },
    };
    await expect(fit(model, data, { epochs: 1, classWeight: { 0: 1, 1: 3 }, callbacks: [failing] })).rejects.toThrow('callback failed');
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('learns bright vs dark on the cached path: accuracy rises from a near-chance baseline', async () => {
    const data = source({ perSplit: { train: 48, validation: 24, test: 24 } });
    const model = wrapped();
    const before = await evaluateBaseline(model, data);
    const history = await fit(model, data, { epochs: 25, learningRate: 0.05 });
    const after = await evaluate(model, data);
    expect(Math.abs(before.accuracy - 0.5)).toBeLessThanOrEqual(0.25);
    expect(history.epoch).toHaveLength(25);
    expect(Object.keys(history.history).sort()).toEqual(['acc', 'loss', 'val_acc', 'val_loss']);
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    expect(after.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(after.accuracy).toBeGreaterThan(before.accuracy);
    model.dispose();
  });

  it('gives the same head on the cached and the naive path (same weights, same batch order)', async () => {
    const data = source({ numClasses: 3, perSplit: { train: 20, validation: 6, test: 6 }, batchSize: 6 });
    const a = wrapped(3, 5);
    const b = wrapped(3, 5);
    b.setWeights(a.getWeights());
    const ha = await fit(a, data, { epochs: 3, shuffle: false, learningRate: 0.01 });
    const hb = await fit(b, data, { epochs: 3, cacheFeatures: false, learningRate: 0.01 });
    const wa = describeWrapper(a)!.headLayers.flatMap((l) => l.getWeights());
    const wb = describeWrapper(b)!.headLayers.flatMap((l) => l.getWeights());
    for (let i = 0; i < wa.length; i++) {
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(wa[i]!, wb[i]!))).dataSync()[0]!);
      expect(diff).toBeLessThan(1e-5);
    }
    const la = ha.history.loss as number[];
    const lb = hb.history.loss as number[];
    la.forEach((v, i) => expect(v).toBeCloseTo(lb[i]!, 5));
    // Everything but the head is untouched (the base is frozen, BN statistics included).
    const fa = a.getWeights();
    const fb = b.getWeights();
    fa.forEach((w, i) => expect(tf.tidy(() => tf.max(tf.abs(tf.sub(w, fb[i]!))).dataSync()[0]!)).toBeLessThan(1e-5));
    a.dispose();
    b.dispose();
  });

  it('spills cached features to a temporary file beyond the byte budget, with the same result', async () => {
    const data = source({ perSplit: { train: 16, validation: 8, test: 8 } });
    const a = wrapped(2, 3);
    const b = wrapped(2, 3);
    b.setWeights(a.getWeights());
    const ha = await fit(a, data, { epochs: 2, seed: 4 });
    const hb = await fit(b, data, { epochs: 2, seed: 4, cacheBudgetBytes: 16 });
    expect(hb.history.loss).toEqual(ha.history.loss);
    expect(hb.history.val_acc).toEqual(ha.history.val_acc);
    a.dispose();
    b.dispose();
  });

  it('calls tfjs-style callbacks in order with numeric logs and honours model.stopTraining', async () => {
    const data = source();
    const model = wrapped();
    const events: string[] = [];
    const cb: TrainingCallback = {
      onTrainBegin: () => void events.push('trainBegin'),
      onEpochBegin: (e) => void events.push(`epochBegin ${e}`),
      onBatchEnd: (b, logs) => void events.push(`batchEnd ${b} ${typeof logs?.loss} ${logs?.size}`),
      onEpochEnd: (e, logs) => void events.push(`epochEnd ${e} ${Object.keys(logs ?? {}).join(',')}`),
      onTrainEnd: () => void events.push('trainEnd'),
    };
    const stopper: TrainingCallback & { model?: tfl.LayersModel } = {
      setModel(m) {
        this.model = m;
      },
      onEpochEnd(e) {
        if (e === 1 && this.model) this.model.stopTraining = true;
      },
    };
    const history = await fit(model, data, { epochs: 5, callbacks: [cb, stopper] });
    expect(history.epoch).toEqual([0, 1]);
    expect(events.slice(0, 6)).toEqual([
      'trainBegin',
      'epochBegin 0',
      'batchEnd 0 number 8',
      'batchEnd 1 number 8',
      'batchEnd 2 number 8',
      'epochEnd 0 loss,acc,val_loss,val_acc',
    ]);
    expect(events[events.length - 1]).toBe('trainEnd');
    model.dispose();
  });

  it("accepts tfjs's own callbacks (tf.callbacks.earlyStopping) and trains without validation when asked", async () => {
    const data = source({ randomLabels: true });
    const model = wrapped();
    const history = await fit(model, data, {
      epochs: 20,
      learningRate: 1,
      callbacks: [tfl.callbacks.earlyStopping({ monitor: 'val_loss', patience: 0 }) as unknown as TrainingCallback],
    });
    expect(history.epoch.length).toBeLessThan(20);
    const noVal = await fit(model, data, { epochs: 1, validation: false });
    expect(Object.keys(noVal.history).sort()).toEqual(['acc', 'loss']);
    await expect(
      fit(model, { ...data, numExamples: { ...data.numExamples, validation: 0 } }, { validation: true }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: validation must be false or omitted when the data has no validation examples, got true]`);
    model.dispose();
  });

  it('early stopping restores the best weights', async () => {
    const data = source({ randomLabels: true });
    const model = wrapped();
    let bestLoss = Infinity;
    let bestWeights: number[] = [];
    const recorder: TrainingCallback = {
      onEpochEnd: (_e, logs) => {
        if ((logs?.val_loss ?? Infinity) < bestLoss) {
          bestLoss = logs!.val_loss!;
          bestWeights = Array.from(describeWrapper(model)!.headLayers[0]!.getWeights()[0]!.dataSync());
        }
      },
    };
    // A large learning rate on random labels makes val_loss go up and down.
    const history = await fit(model, data, {
      epochs: 12,
      learningRate: 1,
      callbacks: [recorder, earlyStopping({ patience: 1 })],
    });
    expect(history.epoch.length).toBeLessThanOrEqual(12);
    const now = Array.from(describeWrapper(model)!.headLayers[0]!.getWeights()[0]!.dataSync());
    expect(now).toEqual(bestWeights);
    model.dispose();
  });

  // wasm has no conv backprop kernels; the unfrozen top includes conv2.
  it.skipIf(tf.getBackend() === 'wasm' || process.env.TLKIT_BACKEND === 'wasm')(
    'trains again after unfreeze and after fineTune (the trainable weights changed under the kept optimizer)',
    async () => {
      const data = source({ perSplit: { train: 8, validation: 4, test: 4 } });
      const base = tinyConvBnBase();
      const model = Wrapper(base, { seed: 0, hiddenUnits: [4] });
      await fit(model, data, { epochs: 1 });
      const withOptimizer = tf.memory().numTensors;
      unfreeze(model, { topLayers: 3 });
      // tfjs optimizers keep their moments by position: the base's conv2 kernel met the head's first moment.
      const after = await fit(model, data, { epochs: 1 });
      expect(after.history['loss']![0]).toBeGreaterThan(0);
      unfreeze(model, { topLayers: 0 });
      await fineTune(model, data, { topLayers: 3, epochs: 1 });
      await fit(model, data, { epochs: 1 }); // head only again, after fineTune's optimizer saw base weights
      expect(tf.memory().numTensors).toBe(withOptimizer);
      model.dispose();
      base.dispose();
    },
  );

  it('frees every tensor when a download fails during validation', async () => {
    const data = source({ perSplit: { train: 8, validation: 4, test: 4 } });
    const base = tinyConvBnBase();
    const model = Wrapper(base, { seed: 0 });
    await fit(model, data, { epochs: 1 });
    const before = tf.memory().numTensors;
    const original = tf.Tensor.prototype.data;
    let armed = false;
    const spy = vi.spyOn(tf.Tensor.prototype, 'data').mockImplementation(function (this: tf.Tensor) {
      return armed ? Promise.reject(new Error('context lost')) : original.call(this);
    } as typeof original);
    // Armed after the last training batch of the epoch: the next download is validation's.
    const arm: TrainingCallback = { onBatchEnd: (batch) => void (armed = batch === 0) };
    try {
      await expect(fit(model, data, { epochs: 1, callbacks: [arm] })).rejects.toThrow('context lost');
    } finally {
      spy.mockRestore();
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    base.dispose();
  });

  it('throws a DatasetError when the training split yields no batch (every image failed to decode)', async () => {
    const data = source({ perSplit: { train: 8, validation: 4, test: 4 } });
    const empty = { ...data, trainBatches: data.testBatches.take(0) };
    const model = wrapped();
    for (const cacheFeatures of [true, false]) {
      await expect(fit(model, empty, { epochs: 2, cacheFeatures })).rejects.toThrowErrorMatchingInlineSnapshot(`[DatasetError: fit: the training split yielded no batch in epoch 1; its images may all have failed to decode (a DataLoader lists them in data.skipped)]`);
    }
    model.dispose();
  });

  it('refuses to reuse a caller-owned optimizer on other trainable weights', async () => {
    const data = source({ perSplit: { train: 8, validation: 4, test: 4 } });
    const base = tinyConvBnBase();
    const model = Wrapper(base, { seed: 0 });
    const mine = tf.train.adam(0.01);
    await fit(model, data, { epochs: 1, optimizer: mine });
    unfreeze(model, { topLayers: 2 });
    await expect(fit(model, data, { epochs: 1 })).rejects.toThrowErrorMatchingInlineSnapshot(`[TrainingError: fit: the model's optimizer was last used on other trainable weights (unfreeze or fineTune changed them), and a tfjs optimizer keeps its state by position; pass a new optimizer or a preset name ('adam', 'tutorial')]`);
    await fit(model, data, { epochs: 1, optimizer: 'adam' }); // a new optimizer trains fine
    model.dispose();
    mine.dispose();
    base.dispose();
  });

  it('throws a TrainingError naming epoch and batch when the loss becomes NaN', async () => {
    const data = source();
    const model = wrapped();
    const head = describeWrapper(model)!.headLayers.at(-1)!;
    const w = head.getWeights();
    head.setWeights([tf.fill(w[0]!.shape, Number.NaN), w[1]!]);
    // Mean squared error lets the NaN through (cross-entropy clips probabilities, which hides it on wasm).
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    await expect(fit(model, data, { epochs: 2 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[TrainingError: fit: the loss became NaN at epoch 1, batch 1; lower the learning rate or check the data for invalid values]`,
    );
    model.dispose();
  });

  it('refuses a second concurrent fit on the same model', async () => {
    const data = source();
    const model = wrapped();
    const first = fit(model, data, { epochs: 2 });
    await expect(fit(model, data, { epochs: 1 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[TrainingError: fit: the model 'tlkit_wrapper' is already training; wait for that fit to finish]`,
    );
    await first;
    model.dispose();
  });

  it('refuses a model whose output does not match the data, and bad options', async () => {
    const data = source({ numClasses: 3 });
    const model = wrapped(2);
    await expect(fit(model, data)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[IncompatibleModelError: fit: the model outputs 1 value per image but the data has 3 classes with labelMode 'categorical' (expected 3 softmax units, one per class)]`,
    );
    const bin = source();
    await expect(fit(model, bin, { epochs: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: fit: epochs must be a positive integer, got 0]`,
    );
    await expect(
      fit(model, { ...bin, numExamples: { ...bin.numExamples, train: 0 } }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[DatasetError: fit: the training split is empty; nothing to train on]`);
    await expect(fit(model, { ...bin, augmented: true }, { cacheFeatures: true })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: cacheFeatures must be false or omitted because data.augmented is true (augmented images differ every epoch), got true]`);
    // 'no' is truthy: it must not silently keep the NaN guard on.
    await expect(fit(model, bin, { stopOnNaN: 'no' as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: stopOnNaN must be a boolean, got "no"]`);
    model.dispose();
  });

  it('does not leak tensors on either path (the optimizer it creates belongs to the model)', async () => {
    const data = source({ perSplit: { train: 8, validation: 4, test: 4 } });
    const before = tf.memory().numTensors;
    const base = tinyConvBnBase();
    const model = Wrapper(base, { seed: 0 });
    const withModel = tf.memory().numTensors;
    await fit(model, data, { epochs: 1 });
    const afterFirst = tf.memory().numTensors;
    await fit(model, data, { epochs: 2 });
    expect(tf.memory().numTensors).toBe(afterFirst);
    await fit(model, data, { epochs: 2, cacheFeatures: false });
    expect(tf.memory().numTensors).toBe(afterFirst);
    expect(afterFirst).toBeGreaterThanOrEqual(withModel);
    model.dispose(); // frees the head and the optimizer fit created
    base.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('fit on a plain LayersModel', () => {
  it('adds regularization penalties to the loss, as tfjs does', async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 } });
    const build = (l2: number) => {
      const input = tfl.input({ shape: [8, 8, 3] });
      const pooled = tfl.layers.globalAveragePooling2d({}).apply(input) as tfl.SymbolicTensor;
      const out = tfl.layers
        .dense({
          units: 1,
          activation: 'sigmoid',
          kernelInitializer: 'ones',
          ...(l2 > 0 ? { kernelRegularizer: tfl.regularizers.l2({ l2 }) } : {}),
        })
        .apply(pooled) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: out });
    };
    const plain = build(0);
    const penalised = build(0.5);
    const a = await fit(plain, data, { epochs: 1, learningRate: 1e-9, validation: false, shuffle: false });
    const b = await fit(penalised, data, { epochs: 1, learningRate: 1e-9, validation: false });
    // kernel of ones, 3 inputs: penalty 0.5 * 3 = 1.5 per batch
    expect((b.history.loss![0] as number) - (a.history.loss![0] as number)).toBeCloseTo(1.5, 4);
    plain.dispose();
    penalised.dispose();
    data.dispose();
  });
});
