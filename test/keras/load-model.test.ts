import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import { IncompatibleModelError, loadKerasModel, loadKerasWeights } from '../../src/index';
import { fixture, maxDiff } from './helpers';

// The fixtures were written by Keras 3.15.1 (scripts/keras-parity/make_keras_files.py --fixtures).
function kerasLayerNames(name: string): string[] {
  return (JSON.parse(readFileSync(fixture(`${name}.json`), 'utf8')) as { layerNames: string[] }).layerNames;
}

/** tiny.keras with its config.json edited by `edit`. */
function editedArchive(edit: (config: { config: { layers: Array<{ class_name: string; config: { name: string } }> } }) => void): Uint8Array {
  const files = unzipSync(new Uint8Array(readFileSync(fixture('tiny.keras'))));
  const config = JSON.parse(strFromU8(files['config.json'] as Uint8Array)) as Parameters<typeof edit>[0];
  edit(config);
  return zipSync({ ...files, 'config.json': strToU8(JSON.stringify(config)) });
}

describe('loadKerasModel', () => {
  for (const file of ['tiny.keras', 'tiny.h5', 'tiny_seq.keras', 'tiny_seq.h5', 'nested.keras', 'nested.h5']) {
    test(`builds ${file} (Keras 3) with its weights and reproduces Keras's outputs within 1e-4`, async () => {
      const name = file.split('.')[0] as string;
      const before = tf.memory().numTensors;
      const model = await loadKerasModel(fixture(file));
      try {
        expect(maxDiff(model, name)).toBeLessThanOrEqual(1e-4);
        const keras = kerasLayerNames(name).filter((n) => n !== 'pixels'); // Sequential: the input is not a layer
        expect(model.layers.map((l) => l.name).filter((n) => n !== 'pixels')).toEqual(keras);
      } finally {
        model.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  test('skipWeights keeps the random initialisation', async () => {
    const model = await loadKerasModel(fixture('tiny.keras'), { skipWeights: true });
    try {
      expect(maxDiff(model, 'tiny')).toBeGreaterThan(1e-3);
    } finally {
      model.dispose();
    }
  });

  test('a base nested in the classifier (the Keras guide\'s layout) loads from every weights layout', async () => {
    const model = await loadKerasModel(fixture('nested.keras'), { skipWeights: true });
    try {
      expect(model.layers.find((l) => l.name === 'base')).toBeInstanceOf(tfl.LayersModel);
      for (const file of ['nested.legacy.weights.h5', 'nested.h5', 'nested.keras']) {
        await loadKerasWeights(model, fixture(file), { match: 'order' });
        expect(maxDiff(model, 'nested')).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      model.dispose();
    }
  });

  test('names every layer tfjs-layers cannot build', async () => {
    const bytes = editedArchive((c) => {
      for (const l of c.config.layers) {
        if (l.config.name === 'bn') l.class_name = 'Normalization';
        if (l.config.name === 'relu') l.class_name = 'MyCustomLayer';
      }
    });
    const before = tf.memory().numTensors;
    await expect(loadKerasModel(bytes)).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: loadKerasModel: tfjs-layers cannot build layers 'bn' (Normalization), 'relu' (MyCustomLayer)]`);
    await expect(loadKerasModel(bytes)).rejects.toThrowError(IncompatibleModelError);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('refuses a weights-only file and a non-model config', async () => {
    await expect(loadKerasModel(fixture('tiny.legacy.weights.h5'))).rejects.toThrowErrorMatchingInlineSnapshot(`[LoadError: loadKerasModel: the .h5 file has no model_config (a weights-only file: use loadKerasWeights)]`);
    const bytes = editedArchive((c) => {
      (c as unknown as { class_name: string }).class_name = 'MyModel';
    });
    await expect(loadKerasModel(bytes)).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: loadKerasModel: the model is a MyModel; only Functional and Sequential models load]`);
  });

  test('reads file:// URLs in the forms loadBase reads; a malformed one is an argument error', async () => {
    const model = await loadKerasModel(`file://${fixture('tiny.keras')}`, { skipWeights: true });
    model.dispose();
    // file://host/... was a raw TypeError from Node's fileURLToPath; as in tfjs-node it is the relative path host/...
    await expect(loadKerasModel('file://host/share/tiny.keras')).rejects.toThrowErrorMatchingInlineSnapshot(`[LoadError: loadKerasModel: could not read "host/share/tiny.keras" (ENOENT: no such file or directory, open 'host/share/tiny.keras')]`);
    await expect(loadKerasModel('file:tiny.keras')).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadKerasModel: source must be a path, or a file:// URL (file:///abs/model.json, file://./rel/model.json or file://rel/model.json), got "file:tiny.keras"]`);
  });

  test('validates its arguments', async () => {
    await expect(loadKerasModel(null as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadKerasModel: source must be a path, a URL, an ArrayBuffer or a Uint8Array, got null]`);
    await expect(loadKerasModel(fixture('tiny.keras'), { skipWeights: 'yes' as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadKerasModel: skipWeights must be a boolean, got "yes"]`);
  });
});
