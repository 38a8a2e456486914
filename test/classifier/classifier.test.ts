import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { fit } from '../../src/pipeline/fit';
import { evaluate } from '../../src/pipeline/evaluate';
import { saveClassifier } from '../../src/classifier/save';
import { loadClassifier } from '../../src/classifier/load';
import { prepareImages } from '../../src/data/prepare';
import { VERSION } from '../../src/version';
import { LoadError } from '../../src/errors';
import { graphLike, tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tlkit-classifier-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A 0..255 RGB image: every pixel `v`. */
const flatImage = (v: number) => tf.fill([8, 8, 3], v, 'int32') as tf.Tensor3D;

describe('saveClassifier / loadClassifier', () => {
  it('round-trips: the loaded classifier predicts like the trained model, with labels and metadata', async () => {
    const data = makeTestSource({ numClasses: 3 });
    const model = Wrapper(tinyConvBnBase(), { numClasses: 3, seed: 3 });
    await fit(model, data, { epochs: 3, learningRate: 0.05 });
    const metrics = await evaluate(model, data);
    const dir = join(await tempDir(), 'flowers');
    const written = await saveClassifier(model, data, dir, { metrics, baseName: 'tiny' });
    expect((await readdir(dir)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    const onDisk = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(written)));
    expect(onDisk).toMatchObject({
      // Teachable Machine's field names...
      labels: ['red', 'green', 'blue'],
      imageSize: 8,
      modelName: 'flowers',
      packageName: 'tl-kit',
      packageVersion: VERSION,
      tfjsVersion: tf.version_core,
      // ...and tl-kit's own.
      format: 'tl-kit-classifier',
      formatVersion: 2,
      labelMode: 'categorical',
      inputSize: [8, 8],
      preprocessing: 'unit',
      resize: 'stretch',
      baseName: 'tiny',
      base: { format: 'layers', layerName: 'tlkit_base' },
      metrics: { split: 'test', accuracy: metrics.accuracy, exampleCount: metrics.exampleCount },
    });
    expect(await readFile(join(dir, 'model.json'), 'utf8')).not.toMatch(/TlKit/);

    const classifier = await loadClassifier(dir);
    expect(classifier.labelNames).toEqual(['red', 'green', 'blue']);
    const image = tf.tidy(() => tf.cast(tf.mul(tf.ones([8, 8, 3]), tf.tensor1d([230, 20, 20])), 'int32')) as tf.Tensor3D;
    const expected = tf.tidy(() =>
      Array.from((model.predict(prepareImages(image, { imageSize: 8, preprocessing: 'unit' })) as tf.Tensor).dataSync()),
    );
    const before = tf.memory().numTensors;
    const predictions = await classifier.predict(image);
    expect(tf.memory().numTensors).toBe(before);
    expect(predictions.map((p) => p.probability)).toEqual([...predictions.map((p) => p.probability)].sort((a, b) => b - a));
    for (const p of predictions) {
      expect(p.probability).toBeCloseTo(expected[['red', 'green', 'blue'].indexOf(p.label)]!, 5);
    }
    expect(image.isDisposed).toBe(false); // the caller's tensor stays the caller's
    // The loaded model keeps the Wrapper structure: evaluate runs its frozen base once per image, as before saving.
    const parts = describeWrapper(classifier.model);
    expect(parts?.featureSize).toBe(describeWrapper(model)?.featureSize);
    expect(parts?.isBaseFrozen()).toBe(true);
    const reloaded = await evaluate(classifier.model, data);
    expect(reloaded.accuracy).toBe(metrics.accuracy);
    expect(reloaded.loss).toBeCloseTo(metrics.loss, 5);
    image.dispose();
    await classifier.dispose();
    model.dispose();
    data.dispose();
  });

  it('binary classifiers return both classes with complementary probabilities', async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase(), { seed: 1 });
    const dir = join(await tempDir(), 'bin');
    await saveClassifier(model, data, `file://${dir}`);
    const classifier = await loadClassifier(join(dir, 'model.json'));
    const img = flatImage(200);
    const out = await classifier.predict(img);
    img.dispose();
    expect(out.map((p) => p.label).sort()).toEqual(['bright', 'dark']);
    expect(out[0]!.probability + out[1]!.probability).toBeCloseTo(1, 6);
    expect(out[0]!.probability).toBeGreaterThanOrEqual(out[1]!.probability);
    await classifier.dispose();
    model.dispose();
    data.dispose();
  });

  it('refuses to save a model whose output does not fit the data, and a predict after dispose', async () => {
    const data = makeTestSource();
    const three = Wrapper(tinyConvBnBase(), { numClasses: 3 });
    const dir = await tempDir();
    // Saved, it would read the first of three softmax values as the probability of 'bright'.
    await expect(saveClassifier(three, data, join(dir, 'mismatch'))).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: saveClassifier: the model outputs 3 values per image but the data has 2 classes with labelMode 'binary' (expected 1 sigmoid unit)]`);
    await expect(saveClassifier(three, { ...data, labelMode: 'multi' as never }, join(dir, 'm2'))).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: saveClassifier: data.labelMode must be one of 'binary', 'categorical', got "multi"]`);
    await expect(readdir(dir)).resolves.toEqual([]);
    const model = Wrapper(tinyConvBnBase());
    await saveClassifier(model, data, join(dir, 'ok'));
    await expect(saveClassifier(model, data, join(dir, 'm3'), { metrics: { accuracy: 0.9 } as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: saveClassifier: metrics must be the result of evaluate(), got {"accuracy":0.9}]`);
    const classifier = await loadClassifier(join(dir, 'ok'));
    await classifier.dispose();
    const img = flatImage(10);
    const before = tf.memory().numTensors;
    await expect(classifier.predict(img)).rejects.toThrowErrorMatchingInlineSnapshot(`[TlKitError: Classifier.predict: the classifier was disposed; it cannot be used any more (create or load it again)]`);
    // A download that fails (a lost GPU context, say) still frees the prediction tensor.
    const again = await loadClassifier(join(dir, 'ok'));
    const original = tf.Tensor.prototype.data;
    const download = vi.spyOn(tf.Tensor.prototype, 'data').mockImplementation(function (this: tf.Tensor) {
      // The image reads fine; the prediction's download fails.
      return this.rank === 2 ? Promise.reject(new Error('context lost')) : original.call(this);
    } as typeof original);
    try {
      await expect(again.predict(img)).rejects.toThrow('context lost');
    } finally {
      download.mockRestore();
    }
    await again.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numTensors).toBe(before);
    img.dispose();
    three.dispose();
    model.dispose();
    data.dispose();
  });

  it('refuses a preprocessing function and a model without tl-kit metadata', async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase());
    const dir = await tempDir();
    await expect(
      saveClassifier(model, { ...data, preprocessing: (x: tf.Tensor4D) => x }, join(dir, 'f')),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: saveClassifier: data.preprocessing must be a named mode ('tf', 'caffe', 'torch', 'unit' or 'none'); a preprocessing function cannot be saved, got a function]`);
    const { fileSaveHandler } = await import('../../src/io/file-handler');
    await model.save(fileSaveHandler(join(dir, 'plain')));
    const plain = loadClassifier(join(dir, 'plain'));
    await expect(plain).rejects.toBeInstanceOf(LoadError);
    await expect(plain).rejects.toThrow(/^loadClassifier: .*plain is not a tl-kit classifier \(no tl-kit metadata\); save it with saveClassifier$/);
    const overGraph = Wrapper(graphLike(tinyConvBnBase()));
    await expect(saveClassifier(overGraph, data, join(dir, 'g'))).rejects.toThrowErrorMatchingInlineSnapshot(`[UnsupportedError: saveClassifier: the graph-model base has no save method (a tfjs-converter GraphModel has one), so it cannot be stored with the classifier]`);
    overGraph.dispose();
    // Errors of the helpers it uses (a missing folder, a damaged model.json) name loadClassifier, the call made.
    const missing = loadClassifier(join(dir, 'missing'));
    await expect(missing).rejects.toBeInstanceOf(LoadError);
    await expect(missing).rejects.toThrow(/^loadClassifier: cannot read model file .*missing/);
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'damaged'));
    await writeFile(join(dir, 'damaged', 'model.json'), '{"modelTopology": 5}');
    await expect(loadClassifier(join(dir, 'damaged'))).rejects.toThrow(/^loadClassifier: .*damaged.model\.json has no modelTopology$/);
    await expect(loadClassifier('ftp://example.com/x')).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadClassifier: src must be a folder path, file:// URL, indexeddb:// or http(s):// URL, got "ftp://example.com/x"]`);
    model.dispose();
    data.dispose();
  });
});
