/**
 * Failed loads free what they made and say what was wrong: models whose weights manifest disagrees with their
 * topology (dtype, shape, names), whose topology names an unknown layer class, or whose topology fails to build
 * half-way. Inputs are a tiny model saved at test time and edited.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncompatibleModelError, LoadError } from '../../src/errors';
import { fileLoadHandler, fileSaveHandler } from '../../src/io/file-handler';
import { loadBase } from '../../src/models/load-base';
import { layersModelFromArtifacts } from '../../src/models/load-layers';
import { randomImages, tinyConvBnBase } from '../fixtures/bases';
import { writeTinyGraphModel } from './graph-fixture';

type ModelJson = {
  modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
};

let root: string;
let original: ModelJson;
let weightsBin: Buffer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-load-layers-'));
  const base = tinyConvBnBase({ seed: 3 });
  await base.save(fileSaveHandler(join(root, 'good')));
  base.dispose();
  original = JSON.parse(await readFile(join(root, 'good', 'model.json'), 'utf8'));
  weightsBin = await readFile(join(root, 'good', 'weights.bin'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the saved model with its model.json edited; returns the folder. */
async function variant(name: string, edit: (json: ModelJson) => void, weights = weightsBin): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  const json = structuredClone(original);
  edit(json);
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(join(dir, 'weights.bin'), weights);
  return dir;
}

/** Runs `attempt` three times; every run must fail and the tensor count must not move. */
async function failsWithoutLeak(attempt: () => Promise<unknown>): Promise<Error> {
  await attempt().catch(() => undefined); // warm-up: tfjs registers kernels and caches on first use
  const before = tf.memory().numTensors;
  let last: Error | undefined;
  for (let i = 0; i < 3; i++) {
    last = await attempt().then(
      () => undefined,
      (err: Error) => err,
    );
    expect(last).toBeInstanceOf(Error);
  }
  expect(tf.memory().numTensors).toBe(before);
  return last as Error;
}

const message = (err: Error) => `${err.name}: ${err.message.split(root).join('<tmp>')}`;

describe('layersModelFromArtifacts (through loadBase)', () => {
  it('refuses weights whose dtype disagrees with the topology, naming the weight, and leaks nothing', async () => {
    const dir = await variant('int32', (j) => j.weightsManifest[0]!.weights.forEach((w) => (w.dtype = 'int32')));
    const err = await failsWithoutLeak(() => loadBase(dir));
    expect(err).toBeInstanceOf(LoadError);
    expect(message(err)).toMatchInlineSnapshot(`"LoadError: loadBase: <tmp>/int32 holds weight 'conv1/kernel' as int32 [3, 3, 3, 4], but its topology needs float32 [3, 3, 3, 4]"`);
  });

  it('refuses a weight whose shape disagrees (same byte size), naming what each side has', async () => {
    const dir = await variant('flat', (j) => (j.weightsManifest[0]!.weights[0]!.shape = [108]));
    const err = await failsWithoutLeak(() => loadBase(join(dir, 'model.json')));
    expect(message(err)).toMatchInlineSnapshot(`"LoadError: loadBase: <tmp>/flat/model.json holds weight 'conv1/kernel' as float32 [108], but its topology needs float32 [3, 3, 3, 4]"`);
  });

  it('names a layer class tfjs does not know, before building anything', async () => {
    const dir = await variant('custom', (j) => {
      const relu = j.modelTopology.config.layers.find((l) => l.config.name === 'relu2')!;
      relu.class_name = 'MyCustomLayer';
    });
    const err = await failsWithoutLeak(() => loadBase(dir));
    expect(err).toBeInstanceOf(IncompatibleModelError);
    expect(message(err)).toMatchInlineSnapshot(`"IncompatibleModelError: loadBase: <tmp>/custom uses a layer class tfjs-layers does not know: 'relu2' (MyCustomLayer) (register custom layers before loading)"`);
  });

  it('frees the layers already built when the topology fails half-way', async () => {
    // bn2 comes after conv1, bn1 and conv2 were built (their variables exist); axis 7 does not exist in its input.
    const dir = await variant('unbuildable', (j) => {
      j.modelTopology.config.layers.find((l) => l.config.name === 'bn2')!.config.axis = 7;
    });
    const err = await failsWithoutLeak(() => loadBase(dir));
    expect(err).toBeInstanceOf(LoadError);
    expect(err.message).toMatch(/^loadBase: .*unbuildable cannot be built by tfjs-layers \(/);
  });

  it('refuses inbound nodes that no layer call makes, which would spin tfjs-layers forever, and still loads shared layers', async () => {
    // tfjs re-queues a layer call until its input node exists: these never do, and its loop is synchronous.
    const edits: [string, unknown][] = [
      ['node-one', ['image', 1, 0, {}]],
      ['node-true', ['image', true, 0, {}]],
      ['ghost', ['ghost', 0, 0, {}]],
      ['string', 'image'], // tfjs indexes it as ['i', 'm', 'a', ...]
    ];
    const messages: string[] = [];
    for (const [name, input] of edits) {
      const dir = await variant(name, (j) => {
        const conv1 = j.modelTopology.config.layers.find((l) => l.config.name === 'conv1') as unknown as { inbound_nodes: unknown[][] };
        conv1.inbound_nodes = [[input]];
      });
      const err = await failsWithoutLeak(() => loadBase(dir));
      expect(err).toBeInstanceOf(LoadError);
      messages.push(message(err));
    }
    expect(messages).toMatchInlineSnapshot(`
      [
        "LoadError: loadBase: <tmp>/node-one cannot be built: layer 'conv1' (input 'image' node 1) calls a layer or node that the topology never makes",
        "LoadError: loadBase: <tmp>/node-true cannot be built: layer 'conv1' (input 'image' node true) calls a layer or node that the topology never makes",
        "LoadError: loadBase: <tmp>/ghost cannot be built: layer 'conv1' (input 'ghost' node 0) calls a layer or node that the topology never makes",
        "LoadError: loadBase: <tmp>/string cannot be built: layer 'conv1' (input 'i' node m) calls a layer or node that the topology never makes",
      ]
    `);
    // A layer called at two depths (a(b(a(x)))): its second call waits for the first, and loads.
    const x = tfl.input({ shape: [4], name: 'x' });
    const a = tfl.layers.dense({ units: 4, name: 'a' });
    const b = tfl.layers.dense({ units: 4, name: 'b' });
    const y = a.apply(b.apply(a.apply(x))) as tfl.SymbolicTensor;
    const shared = tfl.model({ inputs: x, outputs: y });
    await shared.save(fileSaveHandler(join(root, 'shared')));
    const loaded = await layersModelFromArtifacts('test', await fileLoadHandler(join(root, 'shared')).load!());
    const input = tf.ones([1, 4]);
    const [p, q] = [shared, loaded].map((m) => m.predict(input) as tf.Tensor);
    expect(Array.from(q!.dataSync())).toEqual(Array.from(p!.dataSync()));
    tf.dispose([input, p!, q!]);
    shared.dispose();
    loaded.dispose();
  });

  it('refuses weight data of the wrong size and manifests that lack or add weights', async () => {
    const artifacts = await fileLoadHandler(join(root, 'good')).load!();
    const specs = artifacts.weightSpecs!;
    const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
    const attempt = (edit: Partial<tf.io.ModelArtifacts>) => () => layersModelFromArtifacts('test', { ...artifacts, ...edit }, { where: 'm' });
    const short = await failsWithoutLeak(attempt({ weightData: data.slice(0, data.byteLength - 4) }));
    expect(short.message).toMatchInlineSnapshot(`"test: m has 1820 bytes of weight data but its weight specs need 1824"`);
    // The last spec (bn2's moving variance, 8 floats) dropped along with its bytes.
    const last = specs[specs.length - 1]!;
    const lacking = await failsWithoutLeak(attempt({ weightSpecs: specs.slice(0, -1), weightData: data.slice(0, data.byteLength - 32) }));
    expect(lacking.message).toMatchInlineSnapshot(`"test: m lacks 1 of the 12 weights its topology needs: '${last.name}' (float32 [8])"`);
    const extra = await failsWithoutLeak(
      attempt({ weightSpecs: [...specs, { name: 'stray/kernel', shape: [1], dtype: 'float32' }], weightData: new Uint8Array([...new Uint8Array(data), 0, 0, 0, 0]).buffer }),
    );
    expect(extra.message).toMatchInlineSnapshot(`"test: m holds weight 'stray/kernel' (float32 [1]), which no layer of its topology has"`);
  });

  it('loads the unedited model, and applies a topology transform before building', async () => {
    const artifacts = await fileLoadHandler(join(root, 'good')).load!();
    const before = tf.memory().numTensors;
    const renamed = await layersModelFromArtifacts('test', artifacts, {
      transformTopology: (t) => {
        (t as unknown as ModelJson['modelTopology']).config.layers.forEach((l) => {
          if (l.config.name === 'relu2') l.class_name = 'Activation';
          if (l.config.name === 'relu2') l.config.activation = 'relu';
        });
        return t;
      },
    });
    const plain = await layersModelFromArtifacts('test', artifacts);
    expect(renamed.getLayer('relu2').getClassName()).toBe('Activation');
    const images = randomImages(2);
    const [x, y] = [renamed, plain].map((m: tfl.LayersModel) => m.predict(images) as tf.Tensor);
    expect(Array.from(x!.dataSync())).toEqual(Array.from(y!.dataSync()));
    tf.dispose([images, x!, y!]);
    renamed.dispose();
    plain.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('frees the decoded weights of a graph model that tfjs-converter cannot build (it leaked them)', async () => {
    const json = await writeTinyGraphModel(join(root, 'graph'));
    const good = JSON.parse(await readFile(json, 'utf8'));
    const broken = structuredClone(good);
    broken.modelTopology.node.find((n: { name: string }) => n.name === 'relu').input = ['no_such_node'];
    await writeFile(json, JSON.stringify(broken));
    const err = await failsWithoutLeak(() => loadBase(json, { preprocessing: 'unit' }));
    expect(err).toBeInstanceOf(LoadError);
    expect(err.message).toMatch(/^loadBase: .*graph\/model\.json is not a loadable graph model \(/);
    // The same file repaired loads, and its weights live on after the load's scope closed.
    await writeFile(json, JSON.stringify(good));
    const before = tf.memory().numTensors;
    const spec = await loadBase(json, { preprocessing: 'unit' });
    const images = randomImages(2);
    const out = tf.tidy(() => (spec.model as unknown as { predict(x: tf.Tensor): tf.Tensor }).predict(images).dataSync());
    expect(out.length).toBe(8);
    expect(Array.from(out).some((v) => v !== 0)).toBe(true);
    images.dispose();
    (spec.model as unknown as { dispose(): void }).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
