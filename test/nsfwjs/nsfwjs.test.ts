/**
 * Integration test on nsfwjs's real MobileNetV2 (offline, from node_modules). Runs on the wasm backend, which is much
 * faster than cpu for a 224 px network; the suite's backend is restored afterwards.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNsfwBase } from '../../src/nsfwjs/index';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';

const suiteBackend = tf.getBackend();

beforeAll(async () => {
  if (tf.getBackend() !== 'wasm') {
    const require = createRequire(import.meta.url);
    const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(pathToFileURL(wasmDir).href + '/');
    await tf.setBackend('wasm');
  }
});

afterAll(async () => {
  await tf.setBackend(suiteBackend ?? 'cpu');
});

/** Two 224 px test images: a smooth gradient and a checkerboard, in [0, 1]. */
function images(): tf.Tensor4D {
  return tf.tidy(() => {
    const ramp = tf.linspace(0, 1, 224);
    const gradient = tf.stack([
      tf.tile(tf.reshape(ramp, [1, 224]), [224, 1]),
      tf.tile(tf.reshape(ramp, [224, 1]), [1, 224]),
      tf.fill([224, 224], 0.5),
    ], 2);
    const idx = tf.range(0, 224, 1, 'int32');
    const cells = tf.floorDiv(idx, tf.scalar(28, 'int32'));
    const board = tf.cast(tf.mod(tf.add(tf.reshape(cells, [224, 1]), tf.reshape(cells, [1, 224])), tf.scalar(2, 'int32')), 'float32');
    const checker = tf.stack([board, board, tf.sub(1, board)], 2);
    return tf.stack([gradient, checker]) as tf.Tensor4D;
  });
}

describe('tl-kit/nsfwjs', () => {
  it('loads the real MobileNetV2 offline and uses it as a frozen 1280-feature base', async () => {
    const start = tf.memory().numTensors;
    const spec = await loadNsfwBase('mobilenet_v2');
    expect(spec).toMatchObject({
      name: 'nsfwjs_mobilenet_v2',
      inputShape: [224, 224, 3],
      preprocessing: 'unit',
      cutAt: 'out_relu',
    });
    const full = spec.model as tfl.LayersModel;
    const xs = images();
    // The full nsfwjs network still classifies: 5 class probabilities per image.
    const probs = tf.tidy(() => tf.sum(full.predict(xs) as tf.Tensor, 1).dataSync());
    probs.forEach((p) => expect(p).toBeCloseTo(1, 4));

    const model = Wrapper(spec, { numClasses: 2 });
    const parts = describeWrapper(model)!;
    expect(parts.featureSize).toBe(1280);
    const features = tf.tidy(() => parts.pool(parts.runBase(xs)));
    const values = features.arraySync() as number[][];
    // Real, image-dependent features: non-negative (ReLU6), not constant, and different for the two images.
    expect(Math.min(...values.flat())).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values.flat())).toBeGreaterThan(0.1);
    const diff = values[0]!.reduce((s, v, i) => s + Math.abs(v - values[1]![i]!), 0);
    expect(diff).toBeGreaterThan(1);

    // One training step leaves the real base's BatchNorm statistics bit-identical.
    const bn = full.getLayer('Conv_1_bn');
    const before = bn.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
    const optimizer = tf.train.sgd(0.1);
    model.compile({ optimizer, loss: 'binaryCrossentropy' });
    const ys = tf.tensor2d([[0], [1]]);
    await model.trainOnBatch(xs, ys);
    const after = bn.getWeights().map((w) => Array.from(w.dataSync()));
    expect(after).toEqual(before.map((w) => Array.from(w)));

    tf.dispose([xs, features, ys]);
    optimizer.dispose();
    model.dispose();
    full.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('loads the MobileNetV2 graph model (through tfjs-converter) as a 1792-feature base', async () => {
    const start = tf.memory().numTensors;
    const spec = await loadNsfwBase('mobilenet_v2_mid');
    expect(spec).toMatchObject({ name: 'nsfwjs_mobilenet_v2_mid', inputShape: [224, 224, 3], preprocessing: 'unit' });
    const model = Wrapper(spec, { numClasses: 4 });
    const parts = describeWrapper(model)!;
    expect(parts.featureSize).toBe(1792);
    expect(parts.base.kind).toBe('graph');
    const xs = images();
    const out = model.predict(xs) as tf.Tensor;
    expect(out.shape).toEqual([2, 4]);
    tf.dispose([xs, out]);
    model.dispose();
    (spec.model as unknown as { dispose(): void }).dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('refuses unknown names and a cutAt for the graph model', async () => {
    await expect(loadNsfwBase('resnet' as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadNsfwBase: name must be 'mobilenet_v2', 'mobilenet_v2_mid' or 'inception_v3', got "resnet"]`);
    await expect(loadNsfwBase('mobilenet_v2_mid', { cutAt: 'x' })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadNsfwBase: cutAt must be undefined for 'mobilenet_v2_mid', a graph model, got "x"]`);
    // Checked before the model is read: a number for cutAt was a raw TypeError after a full load.
    await expect(loadNsfwBase('mobilenet_v2', { cutAt: 5 as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadNsfwBase: cutAt must be a non-empty string, got 5]`);
    await expect(loadNsfwBase('mobilenet_v2', { inputShape: 'abc' as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadNsfwBase: inputShape must be [height, width, channels] of positive integers, got "abc"]`);
  });
});
