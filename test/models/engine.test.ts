/**
 * The engine choice: 'auto' runs a layers base on ONNX Runtime when it converts (onnxruntime-node is a
 * devDependency here) and says why when it falls back to tfjs; 'onnxruntime' insists with typed errors; both engines
 * give the same losses and probabilities; ONNX files work as bases end to end.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClassifier } from '../../src/classifier/load';
import { saveClassifier } from '../../src/classifier/save';
import { OnnxConversionError, TlKitError, UnsupportedError } from '../../src/index';
import { loadOnnxBase } from '../../src/models/load-onnx-base';
import { openBaseRuntime } from '../../src/models/runtime-choice';
import { unfreeze } from '../../src/models/unfreeze';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { evaluate, evaluateBaseline } from '../../src/pipeline/evaluate';
import { fineTune } from '../../src/pipeline/fine-tune';
import { fit } from '../../src/pipeline/fit';
import { graphLike, tinyConvBnBase, tinyDagBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';
import { randomImages, relativeError } from '../runtime/helpers';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The tiny conv base with a LayerNormalization, which has no ONNX translation. */
function unconvertibleBase(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3] });
  const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv' }).apply(input) as tfl.SymbolicTensor;
  const norm = tfl.layers.layerNormalization({ name: 'norm' }).apply(conv) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: norm });
}

describe('engine choice', () => {
  it("'auto' runs a convertible layers base on ONNX Runtime, with the features tfjs computes", async () => {
    const view = describeWrapper(Wrapper(tinyDagBase(), { numClasses: 3 }))!;
    const x = randomImages([3, 8, 8, 3], 4);
    const ort = await openBaseRuntime(view, { call: 'test', images: 3 });
    const tfjs = await openBaseRuntime(view, { call: 'test', images: 3, engine: 'tfjs' });
    expect(ort.info).toMatchObject({ engine: 'onnxruntime', implementation: 'onnxruntime', backend: 'cpu' });
    expect(ort.info.fallback).toBeUndefined();
    expect(tfjs.info.engine).toBe('tfjs');
    const before = tf.memory().numTensors;
    const a = await ort.extract(x);
    const b = await tfjs.extract(x);
    expect(relativeError(a, b)).toBeLessThan(1e-4);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    await Promise.all([ort.dispose(), tfjs.dispose()]);
    x.dispose();
    view.model.dispose();
  });

  it("'auto' falls back to tfjs visibly on a layer without ONNX translation; 'onnxruntime' names it in a typed error", async () => {
    const data = makeTestSource();
    const auto = Wrapper(unconvertibleBase());
    const result = await evaluateBaseline(auto, data);
    expect(result.runtime).toMatchObject({ engine: 'tfjs', fallback: "ONNX Runtime not used: layer 'norm' (LayerNormalization) has no ONNX translation" });
    expect(result.runtime?.summary).toMatch(/layer 'norm' \(LayerNormalization\) has no ONNX translation/);
    const strict = Wrapper(unconvertibleBase(), { engine: 'onnxruntime' });
    const before = tf.memory().numTensors;
    const err = await evaluateBaseline(strict, data).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnnxConversionError);
    expect(err).toMatchObject({ layer: 'norm', className: 'LayerNormalization', code: 'INCOMPATIBLE_MODEL' });
    expect(tf.memory().numTensors).toBe(before);
    auto.dispose();
    strict.dispose();
    data.dispose();
  });

  it('a graph-model base runs on tfjs (auto says so; onnxruntime is refused)', async () => {
    const data = makeTestSource();
    const inner = tinyConvBnBase();
    const model = Wrapper(graphLike(inner));
    expect((await evaluateBaseline(model, data)).runtime).toMatchObject({ engine: 'tfjs', implementation: 'tfjs-graph', fallback: 'graph-model bases run on tfjs' });
    const strict = Wrapper(graphLike(inner), { engine: 'onnxruntime' });
    await expect(evaluateBaseline(strict, data)).rejects.toBeInstanceOf(UnsupportedError);
    model.dispose();
    strict.dispose();
    inner.dispose();
    data.dispose();
  });

  it('fit and evaluate give the same losses and probabilities on both engines (within 1e-4 relative)', async () => {
    const data = makeTestSource({ numClasses: 3, perSplit: { train: 24, validation: 12, test: 12 } });
    const run = async (engine: 'tfjs' | 'onnxruntime') => {
      const model = Wrapper(tinyConvBnBase(), { numClasses: 3, engine, seed: 5 });
      const history = await fit(model, data, { epochs: 3, learningRate: 0.05 });
      const result = await evaluate(model, data);
      const probs = tf.tidy(() => Array.from((model.predict(data.split('test').xs) as tf.Tensor).dataSync()));
      model.dispose();
      return { loss: history.history.loss as number[], valLoss: history.history.val_loss as number[], result, probs, runtime: history.runtime };
    };
    const t = await run('tfjs');
    const o = await run('onnxruntime');
    expect(o.runtime?.engine).toBe('onnxruntime');
    expect(t.runtime?.engine).toBe('tfjs');
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
    t.loss.forEach((l, i) => expect(close(o.loss[i]!, l), `loss ${i}`).toBe(true));
    t.valLoss.forEach((l, i) => expect(close(o.valLoss[i]!, l), `val_loss ${i}`).toBe(true));
    expect(close(o.result.loss, t.result.loss)).toBe(true);
    expect(o.result.accuracy).toBe(t.result.accuracy);
    t.probs.forEach((p, i) => expect(close(o.probs[i]!, p)).toBe(true));
    data.dispose();
  });

  it('refuses an unknown engine and executionProviders that are not a list', () => {
    const base = tinyConvBnBase();
    expect(() => Wrapper(base, { engine: 'gpu' as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: engine must be one of 'auto', 'tfjs', 'onnxruntime', got "gpu"]`);
    expect(() => Wrapper(base, { executionProviders: 'cuda' as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: Wrapper: executionProviders must be a non-empty list of ONNX Runtime execution providers, e.g. ['cpu'], got "cuda"]`);
    base.dispose();
  });
});

describe('ONNX files as bases', () => {
  const fixture = resolve('test/fixtures/onnx/tiny_cnn.onnx');

  it('train a head, evaluate, save beside base.onnx and load back with the same predictions', async () => {
    const spec = await loadOnnxBase(fixture, { inputShape: [16, 16, 3] });
    const [h, w] = spec.inputShape;
    const data = makeTestSource({ numClasses: 3, imageSize: [h, w], perSplit: { train: 24, validation: 6, test: 9 } });
    const model = Wrapper(spec, { numClasses: 3 });
    const history = await fit(model, data, { epochs: 4, learningRate: 0.05 });
    expect(history.runtime).toMatchObject({ engine: 'onnxruntime' });
    const result = await evaluate(model, data);
    expect(result.runtime?.engine).toBe('onnxruntime');
    const dir = join(await mkdtemp(join(tmpdir(), 'tlkit-onnx-')), 'saved');
    dirs.push(dir);
    const metadata = await saveClassifier(model, data, dir, { metrics: result });
    expect(metadata.base).toMatchObject({ format: 'onnx', path: 'base.onnx', layout: 'NCHW' });
    expect((await readdir(dir)).sort()).toEqual(['base.onnx', 'metadata.json', 'model.json', 'weights.bin']);
    const classifier = await loadClassifier(dir);
    expect(classifier.runtime?.engine).toBe('onnxruntime');
    const reloaded = await evaluate(classifier.model, data);
    expect(reloaded.accuracy).toBe(result.accuracy);
    expect(Math.abs(reloaded.loss - result.loss)).toBeLessThan(1e-5);
    await classifier.dispose();
    model.dispose();
    data.dispose();
  });

  it('refuse what ONNX Runtime cannot do with typed errors naming the alternative', async () => {
    const spec = await loadOnnxBase(fixture, { inputShape: [16, 16, 3] });
    const [h, w] = spec.inputShape;
    const data = makeTestSource({ imageSize: [h, w] });
    const model = Wrapper(spec);
    expect(() => model.predict(tf.zeros([1, h, w, 3]))).toThrow(/runs on ONNX Runtime only and asynchronously.*loadClassifier\(\.\.\.\)\.predict, evaluate/);
    expect(() => unfreeze(model, { topLayers: 1 })).toThrow(UnsupportedError);
    await expect(fineTune(model, data, { topLayers: 1 })).rejects.toThrow(/ONNX model, which ONNX Runtime only runs \(it does not train\)/);
    await expect(fit(model, data, { cacheFeatures: false })).rejects.toThrow(/fit: the base is an ONNX model.*leave cacheFeatures on/);
    await expect(fit(model, { ...data, augmented: true })).rejects.toThrow(/augmented data .* use unaugmented data/);
    expect(() => Wrapper(spec, { engine: 'tfjs' })).toThrow(TlKitError);
    model.dispose();
    data.dispose();
  });
});
