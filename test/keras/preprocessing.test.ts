/**
 * Keras preprocessing and augmentation layers in loadKerasModel, from `.keras` configs crafted here (no Python):
 * augmentations are removed with their inputs wired through (the Keras references of the fixtures still match),
 * RandomCrop and Resizing are kept only where they are exact identities and refused otherwise, CenterCrop becomes
 * an exact Cropping2D, and Normalization an exact-to-rounding Rescaling, from its config or from the weights file.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, test } from 'vitest';
import { IncompatibleModelError, loadKerasModel } from '../../src/index';
import { fileSaveHandler } from '../../src/io/file-handler';
import { fixture, maxDiff } from './helpers';

type Layer = { class_name: string; config: Record<string, unknown>; name?: string; inbound_nodes?: unknown[]; build_config?: unknown };
type Config = { class_name: string; config: { layers: Layer[]; input_layers?: unknown; output_layers?: unknown; name?: string } };

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const tensor = (from: string, shape: (number | null)[]) => ({
  class_name: '__keras_tensor__',
  config: { shape, dtype: 'float32', keras_history: [from, 0, 0] },
});

/** A Keras 3 functional layer entry called on the output of `from`, whose input has `shape`. */
function layer(className: string, name: string, config: Record<string, unknown>, from: string, shape: (number | null)[]): Layer {
  return {
    class_name: className,
    config: { name, trainable: true, dtype: 'float32', ...config },
    name,
    build_config: { input_shape: shape },
    inbound_nodes: [{ args: [tensor(from, shape)], kwargs: {} }],
  };
}

/** `name.keras` with its config.json edited (and optionally its weights replaced). */
function edited(name: string, edit: (config: Config) => void, weights?: Uint8Array): Uint8Array {
  const files = unzipSync(new Uint8Array(readFileSync(fixture(`${name}.keras`))));
  const config = JSON.parse(strFromU8(files['config.json'] as Uint8Array)) as Config;
  edit(config);
  return zipSync({ ...files, 'config.json': strToU8(JSON.stringify(config)), ...(weights ? { 'model.weights.h5': weights } : {}) });
}

/** Puts `inserted` between the input `image` and the layer `conv` of tiny.keras (8x8x3). */
function beforeConv(config: Config, inserted: Layer[], last: string): void {
  const layers = config.config.layers;
  const conv = layers.find((l) => l.name === 'conv')!;
  conv.inbound_nodes = [{ args: [tensor(last, [null, 8, 8, 3])], kwargs: {} }];
  layers.splice(1, 0, ...inserted);
}

const S = [null, 8, 8, 3];

/** The Keras guide's augmentation block: a nested Sequential of random layers. */
function augmentBlock(from: string): Layer {
  const inner = (className: string, name: string, config: Record<string, unknown>) => ({
    class_name: className,
    config: { name, trainable: true, dtype: 'float32', ...config },
    build_config: { input_shape: S },
  });
  return {
    class_name: 'Sequential',
    name: 'augment',
    config: {
      name: 'augment',
      trainable: true,
      layers: [
        { class_name: 'InputLayer', config: { batch_shape: S, name: 'augment_in' } },
        inner('RandomZoom', 'zoom', { height_factor: 0.2 }),
        inner('RandomTranslation', 'shift', { height_factor: 0.1, width_factor: 0.1 }),
        inner('RandomContrast', 'contrast', { factor: 0.3 }),
        inner('RandomBrightness', 'bright', { factor: 0.2 }),
      ],
    },
    build_config: { input_shape: S },
    inbound_nodes: [{ args: [tensor(from, S)], kwargs: {} }],
  };
}

describe('loadKerasModel with augmentation layers', () => {
  test('removes them (nested block included) and reproduces Keras: nothing but tfjs built-ins enters the model or its file', async () => {
    const bytes = edited('tiny', (c) =>
      beforeConv(
        c,
        [
          layer('RandomFlip', 'flip', { mode: 'horizontal_and_vertical', seed: null }, 'image', S),
          layer('RandomRotation', 'rotate', { factor: 0.2 }, 'flip', S),
          augmentBlock('rotate'),
          layer('RandomCrop', 'crop', { height: 8, width: 8 }, 'augment', S), // crop to its own size: an identity
          layer('Resizing', 'resize', { height: 8, width: 8, interpolation: 'bilinear' }, 'crop', S),
        ],
        'resize',
      ),
    );
    const before = tf.memory().numTensors;
    const model = await loadKerasModel(bytes);
    try {
      expect(maxDiff(model, 'tiny')).toBeLessThanOrEqual(1e-4);
      expect(model.layers.map((l) => l.name)).toEqual(['image', 'conv', 'bn', 'relu', 'dw', 'add', 'gap', 'probs']);
      const dir = await mkdtemp(join(tmpdir(), 'tlkit-keras-aug-'));
      dirs.push(dir);
      await model.save(fileSaveHandler(dir));
      const saved = await readFile(join(dir, 'model.json'), 'utf8');
      expect(saved).not.toMatch(/Random|Resizing|"augment"/);
      // A plain tfjs load of the saved file needs no tl-kit class.
      const classes = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, unknown>;
      for (const name of JSON.parse(saved).modelTopology.config.layers.map((l: Layer) => l.class_name)) expect(classes[name]).toBeDefined();
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('removes them from a Sequential model too', async () => {
    const bytes = edited('tiny_seq', (c) => {
      const layers = c.config.layers;
      const at = layers.findIndex((l) => l.class_name === 'Rescaling');
      const shape = [null, 6, 6, 3];
      layers.splice(
        at,
        0,
        { class_name: 'RandomFlip', config: { name: 'flip', mode: 'horizontal' }, build_config: { input_shape: shape } },
        { class_name: 'RandomRotation', config: { name: 'rotate', factor: 0.1 }, build_config: { input_shape: shape } },
      );
    });
    const model = await loadKerasModel(bytes);
    try {
      expect(maxDiff(model, 'tiny_seq')).toBeLessThanOrEqual(1e-4);
      expect(model.layers.some((l) => /flip|rotate/.test(l.name))).toBe(false);
    } finally {
      model.dispose();
    }
  });

  test('refuses a RandomCrop or a Resizing that would change the size, saying why, and leaks nothing', async () => {
    const crop = edited('tiny', (c) => beforeConv(c, [layer('RandomCrop', 'crop', { height: 6, width: 6 }, 'image', S)], 'crop'));
    const resize = edited('tiny', (c) => beforeConv(c, [layer('Resizing', 'resize', { height: 4, width: 4 }, 'image', S)], 'resize'));
    const before = tf.memory().numTensors;
    await expect(loadKerasModel(crop)).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: loadKerasModel: tfjs-layers cannot build layer 'crop' (RandomCrop to [6, 6] of an input of [8, 8]: at inference Keras 3 passes the input through unchanged, while its docs (and Keras 2) resize and centre-crop it and its declared output shape is the crop size; tl-kit reproduces neither guess. Crop the images before the model, or give the model inputs of the crop size)]`);
    await expect(loadKerasModel(resize)).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: loadKerasModel: tfjs-layers cannot build layer 'resize' (Resizing from [8, 8] to [4, 4]: tfjs-layers' Resizing samples with aligned corners and Keras with half-pixel centres, so the outputs would differ. Resize the images to the target size before the model (tl-kit's DataLoader does, with imageSize) and give the model inputs of that size)]`);
    await expect(loadKerasModel(resize)).rejects.toBeInstanceOf(IncompatibleModelError);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** A Keras 3 functional config: input `x` of `shape`, then `layers` (each called on the previous), output the last. */
function chain(shape: (number | null)[], layers: Array<[string, string, Record<string, unknown>]>): Config {
  const entries: Layer[] = [{ class_name: 'InputLayer', config: { batch_shape: shape, name: 'x' }, name: 'x', inbound_nodes: [] }];
  let from = 'x';
  for (const [className, name, config] of layers) {
    entries.push(layer(className, name, config, from, shape));
    from = name;
  }
  return { class_name: 'Functional', config: { name: 'pre', layers: entries, input_layers: ['x', 0, 0], output_layers: [from, 0, 0] } };
}

/** A `.keras` archive of `config`, with `weights` (default: tiny.keras's, which no layer here uses). */
function archive(config: Config, weights?: Uint8Array): Uint8Array {
  const files = unzipSync(new Uint8Array(readFileSync(fixture('tiny.keras'))));
  return zipSync({ ...files, 'config.json': strToU8(JSON.stringify(config)), ...(weights ? { 'model.weights.h5': weights } : {}) });
}

/** A Keras 3 weights file holding an adapted Normalization named `name`: vars 0 (mean), 1 (variance), 2 (count). */
async function normalizationWeights(name: string, mean: number[], variance: number[]): Promise<Uint8Array> {
  const h5 = await import('h5wasm');
  await h5.ready;
  const fs = h5.FS as NonNullable<typeof h5.FS>;
  const path = `/norm-${Math.random().toString(36).slice(2)}.h5`;
  const file = new h5.File(path, 'w');
  try {
    const vars = file.create_group('layers').create_group('normalization').create_group('vars');
    vars.create_attribute('name', name);
    vars.create_dataset({ name: '0', data: Float32Array.from(mean), shape: [mean.length] });
    vars.create_dataset({ name: '1', data: Float32Array.from(variance), shape: [variance.length] });
    vars.create_dataset({ name: '2', data: BigInt64Array.of(100n), shape: [] });
  } finally {
    file.close();
  }
  const bytes = fs.readFile(path) as Uint8Array;
  fs.unlink(path);
  return bytes;
}

function run(model: tfl.LayersModel, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

describe('loadKerasModel preprocessing layers compute what Keras computes', () => {
  const x = () => tf.tidy(() => tf.add(tf.mul(tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5), 255), 0) as tf.Tensor4D);

  test('CenterCrop is an exact Cropping2D with Keras\'s offsets ((H - h) // 2 on top)', async () => {
    const model = await loadKerasModel(archive(chain(S, [['CenterCrop', 'cc', { height: 5, width: 4 }]])));
    const input = x();
    try {
      expect(model.getLayer('cc').getClassName()).toBe('Cropping2D');
      const want = tf.tidy(() => tf.slice(input, [0, 1, 2, 0], [-1, 5, 4, -1]).dataSync());
      expect(Array.from(run(model, input))).toEqual(Array.from(want));
    } finally {
      input.dispose();
      model.dispose();
    }
  });

  test('Normalization with mean and variance in its config (and inverted) is a Rescaling within float rounding', async () => {
    const mean = [120, 110, 100];
    const variance = [4900, 3600, 0];
    const model = await loadKerasModel(
      archive(chain(S, [['Normalization', 'norm', { axis: [-1], mean, variance, invert: false }], ['Normalization', 'back', { axis: [-1], mean, variance, invert: true }]])),
    );
    const input = x();
    try {
      expect(model.getLayer('norm').getClassName()).toBe('Rescaling');
      const normed = tfl.model({ inputs: model.inputs, outputs: model.getLayer('norm').output as tfl.SymbolicTensor });
      const got = run(normed, input);
      const pixels = input.dataSync();
      let worst = 0;
      pixels.forEach((p, i) => {
        const c = i % 3;
        const d = Math.max(Math.sqrt(variance[c]!), 1e-7);
        worst = Math.max(worst, Math.abs((got[i] as number) - (p - mean[c]!) / d) / Math.max(1, Math.abs((p - mean[c]!) / d)));
      });
      // Channel 2 has variance 0: Keras divides by epsilon, so values reach 2.5e9; the bound is relative.
      expect(worst).toBeLessThan(1e-6);
      // invert undoes it (up to rounding, except where the zero variance made the forward pass lose everything).
      const back = run(model, input);
      pixels.forEach((p, i) => i % 3 !== 2 && expect(Math.abs((back[i] as number) - p)).toBeLessThan(1e-3));
    } finally {
      input.dispose();
      model.dispose();
    }
  });

  test('an adapted Normalization (mean, variance, count in the weights file) folds the file\'s values', async () => {
    const mean = [100, 50, 25];
    const variance = [400, 100, 25];
    const config = chain(S, [['Normalization', 'norm', { axis: [-1], mean: null, variance: null, invert: false }]]);
    const before = tf.memory().numTensors;
    const model = await loadKerasModel(archive(config, await normalizationWeights('norm', mean, variance)));
    const input = x();
    try {
      const got = run(model, input);
      const pixels = input.dataSync();
      pixels.forEach((p, i) => expect(got[i]).toBeCloseTo((p - mean[i % 3]!) / Math.sqrt(variance[i % 3]!), 5));
    } finally {
      input.dispose();
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
