/**
 * Keras parity: loads the files written by scripts/keras-parity/make_keras_files.py into tl-kit and compares outputs
 * with Keras's. Runs only when KERAS_PARITY_DIR points at that script's --out folder (see
 * scripts/keras-parity/README.md); skipped otherwise, so the suite needs no Python.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { applications, loadKerasModel, loadKerasWeights } from '../../src/index';

const dir = process.env.KERAS_PARITY_DIR;
const only = process.env.KERAS_PARITY_ONLY?.split(',');

const builders: Record<string, () => Promise<tfl.LayersModel>> = {
  vgg16: () => applications.VGG16({ includeTop: false, inputShape: [32, 32, 3] }),
  inception_v3: () => applications.InceptionV3({ includeTop: false, inputShape: [75, 75, 3] }),
  resnet50v2: () => applications.ResNet50V2({ includeTop: false, inputShape: [32, 32, 3] }),
  resnet101v2: () => applications.ResNet101V2({ includeTop: false, inputShape: [32, 32, 3] }),
  mobilenetv2: () => applications.MobileNetV2({ includeTop: false, inputShape: [32, 32, 3], alpha: 0.35 }),
};

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Max |tl-kit - Keras| divided by max(1, max |Keras|): absolute for small outputs, relative for large ones. */
function scaledDiff(model: tfl.LayersModel, name: string): number {
  const meta = JSON.parse(readFileSync(join(dir as string, `${name}.json`), 'utf8')) as { inputShape: number[] };
  const x = readF32(join(dir as string, `${name}.input.bin`));
  const want = readF32(join(dir as string, `${name}.output.bin`));
  const got = tf.tidy(() => (model.predict(tf.tensor(x, meta.inputShape)) as tf.Tensor).dataSync());
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
    scale = Math.max(scale, Math.abs(want[i] as number));
  }
  return diff / scale;
}

const results: string[] = [];

describe.skipIf(dir === undefined)('Keras parity (KERAS_PARITY_DIR)', () => {
  for (const name of Object.keys(builders)) {
    if (only !== undefined && !only.includes(name)) continue;
    for (const kind of ['keras', 'h5', 'weights.h5', 'legacy.weights.h5']) {
      test(`${name}: builder + loadKerasWeights(${kind}) matches Keras within 1e-4`, async () => {
        const model = await (builders[name] as () => Promise<tfl.LayersModel>)();
        try {
          await loadKerasWeights(model, join(dir as string, `${name}.${kind}`));
          const d = scaledDiff(model, name);
          results.push(`${name}\tbuilder+${kind}\t${d.toExponential(2)}`);
          expect(d).toBeLessThanOrEqual(1e-4);
        } finally {
          model.dispose();
        }
      }, 600_000);
    }
    for (const kind of ['keras', 'h5']) {
      test(`${name}: loadKerasModel(${kind}) matches Keras within 1e-4`, async () => {
        const model = await loadKerasModel(join(dir as string, `${name}.${kind}`));
        try {
          const d = scaledDiff(model, name);
          results.push(`${name}\tloadKerasModel(${kind})\t${d.toExponential(2)}`);
          expect(d).toBeLessThanOrEqual(1e-4);
        } finally {
          model.dispose();
        }
      }, 600_000);
    }
  }
  // Models that only loadKerasModel reads: Keras preprocessing and augmentation layers in front of a nested base.
  // Keras 3.15 cannot write RandomBrightness to a legacy .h5, so 'augmented_h5' (without it) covers that format.
  const loadOnly: Record<string, string[]> = { augmented: ['keras'], augmented_h5: ['keras', 'h5'] };
  for (const [name, kinds] of Object.entries(loadOnly)) {
    if (only !== undefined && !only.includes(name)) continue;
    for (const kind of kinds) {
      test(`${name}: loadKerasModel(${kind}) matches Keras within 1e-4 and holds only tfjs built-in layers`, async () => {
        const model = await loadKerasModel(join(dir as string, `${name}.${kind}`));
        try {
          // The comparison has teeth: Keras's outputs for the two inputs differ far more than the tolerance.
          const want = readF32(join(dir as string, `${name}.output.bin`));
          const half = want.length / 2;
          expect(Math.max(...Array.from(want.subarray(0, half), (v, i) => Math.abs(v - (want[half + i] as number))))).toBeGreaterThan(1e-2);
          const d = scaledDiff(model, name);
          results.push(`${name}\tloadKerasModel(${kind})\t${d.toExponential(2)}`);
          expect(d).toBeLessThanOrEqual(1e-4);
          expect(model.layers.map((l) => l.getClassName()).filter((c) => /^Random|Resizing|Normalization|CenterCrop/.test(c))).toEqual([]);
        } finally {
          model.dispose();
        }
      }, 600_000);
    }
  }
  test('report', () => {
    process.stdout.write(`\nKeras parity (max abs diff / max(1, max |keras|)):\n${results.join('\n')}\n`);
  });
});
