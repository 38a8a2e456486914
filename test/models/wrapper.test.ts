import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { InvalidArgumentError } from '../../src/errors';
import { graphLike, randomImages, tinyConvBnBase, tinyDagBase, tinyDenseBase } from '../fixtures/bases';
import { relativeError } from '../runtime/helpers';

function predictShape(model: tfl.LayersModel, n: number, shape: [number, number, number]): number[] {
  return tf.tidy(() => (model.predict(tf.zeros([n, ...shape])) as tf.Tensor).shape);
}

describe('Wrapper shapes', () => {
  it('refuses a misspelt option with the closest name', () => {
    const base = tinyConvBnBase();
    expect(() => Wrapper(base, { numclasses: 3 } as never)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: options must be known option names (did you mean 'numClasses'?), got "numclasses"]`);
    base.dispose();
  });

  it('binary head: one sigmoid unit on avg-pooled features', () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base);
    expect(predictShape(model, 3, [8, 8, 3])).toEqual([3, 1]);
    const out = model.getLayer('tlkit_output');
    expect(out.getConfig()['activation']).toBe('sigmoid');
    const parts = describeWrapper(model);
    expect(parts?.featureSize).toBe(8);
    expect(parts?.numClasses).toBe(2);
    expect(parts?.inputShape).toEqual([8, 8, 3]);
    expect(parts?.isBaseFrozen()).toBe(true);
    expect(parts?.baseLayers.map((l) => l.name)).toEqual(['conv1', 'bn1', 'relu1', 'conv2', 'bn2', 'relu2']);
    model.dispose();
  });

  it('multi-class head: k softmax units, hidden layers and dropout', () => {
    const model = Wrapper(tinyDagBase(), { numClasses: 4, hiddenUnits: [5, 3], dropout: 0.5, pooling: 'max' });
    expect(predictShape(model, 2, [8, 8, 3])).toEqual([2, 4]);
    expect(model.layers.map((l) => l.name)).toEqual([
      'tlkit_input',
      'tlkit_base',
      'tlkit_pool',
      'tlkit_hidden_0',
      'tlkit_hidden_1',
      'tlkit_dropout',
      'tlkit_output',
    ]);
    expect(model.getLayer('tlkit_output').getConfig()['activation']).toBe('softmax');
    const sums = tf.tidy(() => tf.sum(model.predict(randomImages(2)) as tf.Tensor, 1).arraySync() as number[]);
    sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
    model.dispose();
  });

  it("labelMode 'categorical' gives two classes two softmax units (the head a categorical 2-class dataset needs)", () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 2, labelMode: 'categorical' });
    expect(predictShape(model, 3, [8, 8, 3])).toEqual([3, 2]);
    expect(model.getLayer('tlkit_output').getConfig()['activation']).toBe('softmax');
    expect(describeWrapper(model)!.numClasses).toBe(2);
    model.dispose();
    base.dispose();
  });

  it('a base that already outputs [batch, features] gets no pooling', () => {
    const model = Wrapper(tinyDenseBase(), { numClasses: 3 });
    expect(model.layers.map((l) => l.name)).not.toContain('tlkit_pool');
    expect(describeWrapper(model)?.featureSize).toBe(5);
    expect(predictShape(model, 2, [8, 8, 3])).toEqual([2, 3]);
    model.dispose();
  });

  it('cutAt uses the base up to that layer', () => {
    const model = Wrapper(tinyDenseBase(), { cutAt: 'relu1' });
    const parts = describeWrapper(model);
    expect(parts?.featureSize).toBe(4);
    expect(parts?.baseLayers.map((l) => l.name)).toEqual(['conv1', 'bn1', 'relu1']);
    expect(model.layers.map((l) => l.name)).toContain('tlkit_pool');
    model.dispose();
  });

  it('inputShape rebuilds a fully convolutional base with the same weights', () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base, { inputShape: [12, 10, 3] });
    expect(predictShape(model, 1, [12, 10, 3])).toEqual([1, 1]);
    const parts = describeWrapper(model);
    expect(parts?.inputShape).toEqual([12, 10, 3]);
    // Same weights as the original base: on an 8x8 crop-free check, compare conv1's kernel values.
    const a = base.getLayer('conv1').getWeights()[0] as tf.Tensor;
    const b = parts?.baseLayers[0]?.getWeights()[0] as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    const bnA = base.getLayer('bn2').getWeights()[3] as tf.Tensor;
    const bnB = parts?.baseLayers.find((l) => l.name === 'bn2')?.getWeights()[3] as tf.Tensor;
    expect(Array.from(bnB.dataSync())).toEqual(Array.from(bnA.dataSync()));
    model.dispose();
  });

  it('a graph-model base becomes a frozen feature extractor inside a LayersModel', () => {
    const inner = tinyConvBnBase();
    const graph = graphLike(inner);
    const model = Wrapper(graph, { numClasses: 3 });
    expect(model).toBeInstanceOf(tfl.LayersModel);
    expect(predictShape(model, 2, [8, 8, 3])).toEqual([2, 3]);
    const parts = describeWrapper(model);
    expect(parts?.base.kind).toBe('graph');
    expect(parts?.featureSize).toBe(8);
    expect(parts?.baseLayers).toEqual([]);
    expect(model.trainableWeights.map((w) => w.name)).toEqual([
      expect.stringContaining('tlkit_output/kernel'),
      expect.stringContaining('tlkit_output/bias'),
    ]);
    model.dispose();
    inner.dispose();
  });

  it('view.runBase + view.pool + view.runHead reproduce the wrapper output', () => {
    const model = Wrapper(tinyDagBase(), { numClasses: 3, hiddenUnits: [4] });
    const parts = describeWrapper(model)!;
    const images = randomImages(3);
    // predict runs the base's fused executor, runBase its layers one by one: equal up to float rounding.
    const direct = model.predict(images) as tf.Tensor;
    const composed = tf.tidy(() => parts.runHead(parts.pool(parts.runBase(images)), false));
    expect(relativeError(composed, direct)).toBeLessThan(1e-5);
    // The view's head is the wrapper's own layers (and so its weights).
    expect(parts.headLayers.at(-1)).toBe(model.getLayer('tlkit_output'));
    tf.dispose([images, direct, composed]);
    model.dispose();
  });
});

describe('Wrapper option errors', () => {
  let base: tfl.LayersModel;
  beforeAll(() => {
    base = tinyDenseBase();
  });

  it('refuses numClasses < 2', () => {
    expect(() => Wrapper(base, { numClasses: 1 })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Wrapper: numClasses must be an integer in [2, 100000], got 1]`,
    );
  });

  it('refuses absurd sizes before allocating anything (1e9 classes or hidden units, a huge input, a huge kernel)', () => {
    const before = tf.memory().numTensors;
    expect(() => Wrapper(base, { numClasses: 1e9 })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: numClasses must be an integer in [2, 100000], got 1000000000]`);
    expect(() => Wrapper(base, { hiddenUnits: [1e9] })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: hiddenUnits[0] must be an integer in [1, 65536], got 1000000000]`);
    // 10,000 one-unit layers overflowed the stack inside tfjs-layers (a raw RangeError).
    expect(() => Wrapper(base, { hiddenUnits: new Array(10_000).fill(1) })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: hiddenUnits must be an array of at most 64 positive integers, got [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ...]]`);
    expect(() => Wrapper(base, { inputShape: [100000, 100000, 3] })).toThrow(/inputShape must be \[height, width, channels\] of integers in \[1, 8192\]/);
    expect(() => Wrapper(base, { hiddenUnits: [65536, 65536] })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: hiddenUnits must be small enough that one weight has at most 536870912 values (it would be [65536, 65536]), got [65536, 65536]]`);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an inputShape so small that a layer of the rebuilt base would output nothing (it crashed wasm kernels)', () => {
    const input = tfl.input({ shape: [8, 8, 3] });
    const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'valid', name: 'valid3x3' }).apply(input) as tfl.SymbolicTensor;
    const small = tfl.model({ inputs: input, outputs: conv });
    const before = tf.memory().numTensors;
    expect(() => Wrapper(small, { inputShape: [2, 2, 3] })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: inputShape must be large enough that every layer of the base keeps an output (at [2, 2, 3] layer 'valid3x3' would output [null, 0, 0, 2]), got [2, 2, 3]]`);
    expect(tf.memory().numTensors).toBe(before);
    small.dispose();
  });

  it("refuses labelMode 'binary' for more than two classes, and an unknown labelMode", () => {
    expect(() => Wrapper(base, { numClasses: 3, labelMode: 'binary' })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: labelMode must be 'categorical' for 3 classes ('binary' needs exactly 2), got "binary"]`);
    expect(() => Wrapper(base, { labelMode: 'onehot' as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: labelMode must be one of 'binary', 'categorical', got "onehot"]`);
  });

  it('lists the layer names nearest an unknown cutAt', () => {
    let error: unknown;
    try {
      Wrapper(base, { cutAt: 'relu' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).option).toBe('cutAt');
    expect((error as Error).message).toMatchInlineSnapshot(
      `"Wrapper: cutAt must be the name of a layer of the base (closest: relu1, bn1, dense, image, conv1), got "relu""`,
    );
  });

  it('refuses an inputShape for a base that ends in Flatten/Dense', () => {
    expect(() => Wrapper(base, { inputShape: [16, 16, 3] })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Wrapper: inputShape must be the base's own input shape [8, 8, 3], because its Flatten layer 'flatten' fixes the size (cut the base before it with cutAt), got [16, 16, 3]]`,
    );
  });

  it('refuses a base that is not a model', () => {
    expect(() => Wrapper({} as tfl.LayersModel)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Wrapper: base must be a tf.LayersModel, a GraphModel, an ONNX base or a BaseSpec from loadBase / loadOnnxBase, got {}]`,
    );
  });

  it('does not leak tensors, and disposing the wrapper leaves the base alone', () => {
    const start = tf.memory().numTensors;
    const own = tinyConvBnBase();
    const before = tf.memory().numTensors;
    const rebuilt = Wrapper(own, { numClasses: 3, inputShape: [10, 10, 3] }); // owns copies of the weights
    rebuilt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const shared = Wrapper(own, { hiddenUnits: [3] }); // shares the base's layers
    shared.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(tf.tidy(() => own.predict(tf.zeros([1, 8, 8, 3])) as tf.Tensor)); // still usable
    own.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});

/** Saves `model` into memory with its own `save` (what a user's `model.save(...)` writes). */
async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

describe('Wrapper serialisation', () => {
  it('saves only tfjs built-in classes, so plain tfjs reloads it and predicts the same', async () => {
    const model = Wrapper(tinyDagBase(), { numClasses: 3, hiddenUnits: [4] });
    const saved = await saveToMemory(model);
    expect(JSON.stringify(saved.modelTopology)).not.toMatch(/TlKit/);
    const reloaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    expect(reloaded.getLayer('tlkit_base').getClassName()).toBe('Functional');
    const images = randomImages(2);
    const a = model.predict(images) as tf.Tensor;
    const b = reloaded.predict(images) as tf.Tensor;
    // The Wrapper runs its base fused (BatchNorm folded), plain tfjs layer by layer: equal up to float rounding.
    expect(relativeError(b, a)).toBeLessThan(1e-5);
    tf.dispose([images, a, b]);
    model.dispose();
    reloaded.dispose();
  });
});

describe('describeWrapper reads the structure from the model itself', () => {
  it('recognises a Wrapper model reloaded by plain tfjs, and unfreeze works on it', async () => {
    const { unfreeze } = await import('../../src/models/unfreeze');
    const model = Wrapper(tinyConvBnBase(), { numClasses: 3, hiddenUnits: [4], dropout: 0.2, pooling: 'max' });
    const saved = await saveToMemory(model);
    const start = tf.memory().numTensors;
    const reloaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    const view = describeWrapper(reloaded)!;
    expect(view).toMatchObject({ featureSize: 8, numClasses: 3, inputShape: [8, 8, 3], pooling: 'max' });
    expect(view.headLayers.map((l) => l.name)).toEqual(['tlkit_hidden_0', 'tlkit_dropout', 'tlkit_output']);
    expect(view.isBaseFrozen()).toBe(true);
    const images = randomImages(2);
    const direct = reloaded.predict(images) as tf.Tensor;
    const composed = tf.tidy(() => view.runHead(view.pool(view.runBase(images)), false));
    expect(relativeError(composed, direct)).toBeLessThan(1e-5);
    expect(unfreeze(reloaded, { topLayers: 2 })).toEqual(['bn2', 'relu2']);
    expect(view.isBaseFrozen()).toBe(false);
    tf.dispose([images, direct, composed]);
    reloaded.dispose(); // a reloaded model owns its base: everything it loaded is freed
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
  });

  it('recognises a model built by hand: a nested base, pooling and a head (any layer names)', () => {
    const base = tinyConvBnBase();
    const input = tfl.input({ shape: [8, 8, 3] });
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(base.apply(input)) as tfl.SymbolicTensor;
    const hidden = tfl.layers.dense({ units: 5, activation: 'relu' }).apply(pooled) as tfl.SymbolicTensor;
    const output = tfl.layers.dense({ units: 4, activation: 'softmax' }).apply(hidden) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const view = describeWrapper(model)!;
    expect(view.base.kind).toBe('layers');
    expect(view).toMatchObject({ featureSize: 8, numClasses: 4, pooling: 'avg' });
    expect(view.baseLayers.map((l) => l.name)).toEqual(['conv1', 'bn1', 'relu1', 'conv2', 'bn2', 'relu2']);
    model.dispose();
  });

  it('recognises a flat model (base layers, then pooling, then head) and leaves it unchanged', () => {
    const input = tfl.input({ shape: [8, 8, 3] });
    const conv = tfl.layers.conv2d({ filters: 6, kernelSize: 3, name: 'c' }).apply(input) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization({ name: 'b' }).apply(conv) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalMaxPooling2d({}).apply(bn) as tfl.SymbolicTensor;
    const output = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(pooled) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: output });
    const layersBefore = model.layers.map((l) => l.name);
    const view = describeWrapper(model)!;
    expect(view.baseLayers.map((l) => l.name)).toEqual(['c', 'b']);
    expect(view).toMatchObject({ featureSize: 6, numClasses: 2, pooling: 'max' });
    const images = randomImages(2);
    const direct = model.predict(images) as tf.Tensor;
    const composed = tf.tidy(() => view.runHead(view.pool(view.runBase(images)), false));
    expect(relativeError(composed, direct)).toBeLessThan(1e-6);
    expect(model.layers.map((l) => l.name)).toEqual(layersBefore);
    tf.dispose([images, direct, composed]);
    model.dispose();
  });

  it('finds no Wrapper shape in a model without a head, with two inputs, or that is only a base', () => {
    const base = tinyConvBnBase();
    expect(describeWrapper(base)).toBeUndefined();
    const input = tfl.input({ shape: [8, 8, 3] });
    const pooledOnly = tfl.model({ inputs: input, outputs: tfl.layers.globalAveragePooling2d({}).apply(base.apply(input)) as tfl.SymbolicTensor });
    expect(describeWrapper(pooledOnly)).toBeUndefined();
    const a = tfl.input({ shape: [4] });
    const b = tfl.input({ shape: [4] });
    const twoInputs = tfl.model({ inputs: [a, b], outputs: tfl.layers.dense({ units: 2 }).apply(tfl.layers.add().apply([a, b])) as tfl.SymbolicTensor });
    expect(describeWrapper(twoInputs)).toBeUndefined();
    twoInputs.dispose();
    base.dispose();
  });
});
