/**
 * A saved classifier is a standard TF.js model: plain tfjs (with no tl-kit code loaded at all) reads it and predicts
 * what `loadClassifier` predicts; files of tl-kit 0.1 still load; a loaded classifier is back in the Wrapper's
 * in-memory form; a classifier on a graph-model base is saved as a standard head beside its base.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClassifier } from '../../src/classifier/load';
import { saveClassifier } from '../../src/classifier/save';
import { prepareImages } from '../../src/data/prepare';
import { loadBase } from '../../src/models/load-base';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { fit } from '../../src/pipeline/fit';
import { tinyConvBnBase } from '../fixtures/bases';
import { writeTinyGraphModel } from '../models/graph-fixture';
import { makeTestSource } from '../pipeline/helpers';
import { relativeError } from '../runtime/helpers';

const run = promisify(execFile);
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tlkit-standard-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A flat 0..255 image of one colour. */
const colour = (rgb: readonly number[], size = 8) =>
  tf.tidy(() => tf.cast(tf.mul(tf.ones([size, size, 3]), tf.tensor1d([...rgb])), 'int32')) as tf.Tensor3D;

/**
 * Loads `dir/model.json` in a fresh Node process that imports only tfjs-core, -layers and the cpu backend (no tl-kit
 * code, nothing registered) and returns its predictions for `input` (already preprocessed, `[n, h, w, 3]`).
 */
async function plainTfjsPredict(dir: string, input: tf.Tensor4D): Promise<number[]> {
  const script = `
    import * as tf from '@tensorflow/tfjs-core';
    import * as tfl from '@tensorflow/tfjs-layers';
    import '@tensorflow/tfjs-backend-cpu';
    import { readFileSync } from 'node:fs';
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    const [dir, shapeJson, dataJson] = process.argv.slice(1);
    const json = JSON.parse(readFileSync(dir + '/model.json', 'utf8'));
    const weights = readFileSync(dir + '/' + json.weightsManifest[0].paths[0]);
    const model = await tfl.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }));
    const x = tf.tensor(JSON.parse(dataJson), JSON.parse(shapeJson));
    process.stdout.write(JSON.stringify(Array.from(model.predict(x).dataSync())));
  `;
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', script, dir, JSON.stringify(input.shape), JSON.stringify(Array.from(input.dataSync()))],
    { cwd: resolve('.'), timeout: 30_000 },
  );
  return JSON.parse(stdout) as number[];
}

describe('saved classifiers are standard TF.js models', () => {
  it('plain tfjs without tl-kit loads a saved classifier and predicts what loadClassifier predicts', async () => {
    const data = makeTestSource({ numClasses: 3 });
    const model = Wrapper(tinyConvBnBase(), { numClasses: 3, hiddenUnits: [5], dropout: 0.1 });
    await fit(model, data, { epochs: 2, learningRate: 0.05 });
    const dir = join(await tempDir(), 'colours');
    await saveClassifier(model, data, dir);
    expect((await readdir(dir)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    const topology = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')).modelTopology;
    expect(JSON.stringify(topology)).not.toMatch(/TlKit/);
    const classes = new Set<string>();
    const walk = (node: { class_name: string; config: { layers?: unknown[] } }): void => {
      classes.add(node.class_name);
      for (const layer of node.config.layers ?? []) walk(layer as typeof node);
    };
    walk(topology);
    // Only tfjs-layers' built-in classes, the base as it is (nested, not folded), pooling and the head.
    expect([...classes].sort()).toEqual(['BatchNormalization', 'Conv2D', 'Dense', 'Dropout', 'Functional', 'GlobalAveragePooling2D', 'InputLayer', 'ReLU']);

    const classifier = await loadClassifier(dir);
    const images = [colour([230, 20, 20]), colour([20, 200, 40]), colour([90, 90, 200])];
    const batch = tf.tidy(() => tf.concat(images.map((im) => prepareImages(im, { imageSize: 8, preprocessing: 'unit' }))));
    const plain = await plainTfjsPredict(dir, batch as tf.Tensor4D);
    for (const [i, image] of images.entries()) {
      const predicted = await classifier.predict(image);
      for (const p of predicted) {
        const j = classifier.labelNames.indexOf(p.label);
        expect(Math.abs(p.probability - (plain[i * 3 + j] as number))).toBeLessThan(1e-5);
      }
    }
    tf.dispose([batch, ...images]);
    await classifier.dispose();
    model.dispose();
    data.dispose();
  }, 60_000);

  it.each(['binary', 'three-class'])('files saved by tl-kit 0.1 (%s) still load and predict as they did, on either engine', async (name) => {
    const dir = resolve('test/fixtures/classifier-v0.1', name);
    const recorded = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as {
      expected: { rgb: number[]; prediction: { label: string; probability: number }[] }[];
    };
    const before = tf.memory().numTensors;
    for (const engine of ['tfjs', 'onnxruntime'] as const) {
      const classifier = await loadClassifier(dir, { engine });
      expect(classifier.metadata).toMatchObject({ formatVersion: 2, packageVersion: '0.1.0', inputSize: [8, 8], base: { format: 'layers' } });
      expect(classifier.runtime?.implementation).toBe(engine === 'tfjs' ? 'tfjs-fused' : 'onnxruntime');
      for (const { rgb, prediction } of recorded.expected) {
        const image = colour(rgb);
        const now = await classifier.predict(image);
        image.dispose();
        expect(now.map((p) => p.label)).toEqual(prediction.map((p) => p.label));
        now.forEach((p, i) => expect(Math.abs(p.probability - (prediction[i]?.probability as number))).toBeLessThan(1e-5));
      }
      await classifier.dispose();
      await classifier.dispose(); // idempotent
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("a loaded classifier is in the Wrapper's in-memory form: a user's own model.fit leaves BatchNorm statistics alone", async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase());
    const dir = join(await tempDir(), 'bn');
    await saveClassifier(model, data, dir);
    model.dispose();
    const classifier = await loadClassifier(dir);
    const loaded = classifier.model;
    const statistics = () =>
      loaded.layers
        .flatMap((l) => ('layers' in l ? (l as tfl.LayersModel).layers : [l]))
        .filter((l) => l.getClassName() === 'BatchNormalization')
        .flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
    const before = statistics();
    const headBefore = Array.from(loaded.getLayer('tlkit_output').getWeights()[0]!.dataSync());
    const { xs, labels } = data.split('train');
    const ys = tf.tensor2d(labels, [labels.length, 1]);
    loaded.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    await loaded.fit(xs, ys, { epochs: 2, batchSize: 8, verbose: 0 });
    expect(statistics()).toEqual(before);
    // The head did train: the check above cannot pass by nothing happening.
    expect(Array.from(loaded.getLayer('tlkit_output').getWeights()[0]!.dataSync())).not.toEqual(headBefore);
    ys.dispose();
    await classifier.dispose();
    data.dispose();
  });

  it('a classifier on a graph-model base is saved as a standard head beside its base, and loads back whole', async () => {
    const root = await tempDir();
    const graphJson = await writeTinyGraphModel(join(root, 'graph'));
    const spec = await loadBase(graphJson, { preprocessing: 'unit' });
    const data = makeTestSource({ numClasses: 3 });
    const model = Wrapper(spec, { numClasses: 3 });
    await fit(model, data, { epochs: 2, learningRate: 0.05 });
    const dir = join(root, 'saved');
    const metadata = await saveClassifier(model, data, dir);
    expect(metadata.base).toEqual({ format: 'tfjs-graph', path: 'base', pooling: 'none' });
    expect((await readdir(dir)).sort()).toEqual(['base', 'metadata.json', 'model.json', 'weights.bin']);
    expect((await readdir(join(dir, 'base'))).sort()).toEqual(['model.json', 'weights.bin']);
    // The head alone is a standard model: [batch, features] -> probabilities.
    const head = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')).modelTopology;
    expect(JSON.stringify(head)).not.toMatch(/TlKit/);
    const before = tf.memory().numTensors;
    const classifier = await loadClassifier(dir);
    expect(classifier.runtime?.implementation).toBe('tfjs-graph');
    expect(describeWrapper(classifier.model)?.base.kind).toBe('graph');
    const image = colour([40, 200, 60]);
    const expected = tf.tidy(() => Array.from((model.predict(prepareImages(image, { imageSize: 8, preprocessing: 'unit' })) as tf.Tensor).dataSync()));
    const got = await classifier.predict(image);
    for (const p of got) expect(p.probability).toBeCloseTo(expected[classifier.labelNames.indexOf(p.label)] as number, 5);
    image.dispose();
    await classifier.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    (spec.model as { dispose(): void }).dispose();
    data.dispose();
  });
});

describe('loadClassifier on damaged files', () => {
  it('an unknown layer class or weights that do not fit are typed errors, with no tensor left behind', async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase());
    const dir = join(await tempDir(), 'damaged');
    await saveClassifier(model, data, dir);
    model.dispose();
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    const { writeFile } = await import('node:fs/promises');
    const before = tf.memory().numTensors;
    // A layer class tfjs does not know.
    const unknown = structuredClone(json);
    unknown.modelTopology.config.layers.at(-1).class_name = 'MyCustomDense';
    await writeFile(join(dir, 'model.json'), JSON.stringify(unknown));
    await expect(loadClassifier(dir)).rejects.toThrow(/loadClassifier: .* uses a layer class tfjs-layers does not know: 'tlkit_output' \(MyCustomDense\)/);
    // A weight whose declared shape does not match the topology.
    const shape = structuredClone(json);
    const kernel = shape.weightsManifest[0].weights.find((w: { name: string }) => w.name.endsWith('tlkit_output/kernel'));
    kernel.shape = [kernel.shape[1], kernel.shape[0]];
    await writeFile(join(dir, 'model.json'), JSON.stringify(shape));
    await expect(loadClassifier(dir)).rejects.toThrow(/loadClassifier: .*tlkit_output\/kernel/);
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });
});
