/**
 * Opt-in (`*.slow.test.ts`, left out of `npm test`): ONNX Runtime parity at full size on the four bases with
 * random weights and non-trivial BatchNorm statistics: VGG16@224, InceptionV3@299, ResNet101V2@224 and
 * MobileNetV2@224, without top, batch 2. The tfjs reference runs on the wasm backend (the cpu backend would block
 * the worker for minutes). Prints, per base, the parity metric and the conversion time. Run it with
 * `npx vitest run test/runtime/onnx/full-size.slow.test.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { applications } from '../../../src/applications/index';
import { convertLayersModel } from '../../../src/runtime/onnx/convert';
import { createOnnxSession } from '../../../src/runtime/onnx/session';
import { withBackend } from '../../helpers/backends';
import { randomImages } from '../helpers';
import { randomizeBatchNorms, relativeDiff } from './helpers';

const CASES = [
  ['VGG16', 224],
  ['InceptionV3', 299],
  ['ResNet101V2', 224],
  ['MobileNetV2', 224],
] as const;

describe('ONNX Runtime parity at full size (slow)', () => {
  for (const [name, size] of CASES) {
    it(`${name} @${size}`, { timeout: 900_000 }, async () => {
      await withBackend('wasm', async () => {
        const model: tfl.LayersModel = await applications[name]({ includeTop: false, inputShape: [size, size, 3] });
        randomizeBatchNorms(model, 7);
        const started = performance.now();
        const conversion = await convertLayersModel(model);
        const convertMs = performance.now() - started;
        const session = await createOnnxSession('slow-test', conversion.bytes);
        const x = tf.tidy(() => tf.sub(tf.mul(randomImages([2, size, size, 3], 11), 2), 1));
        const expected = model.predict(x) as tf.Tensor;
        const out = await session.run(x.dataSync() as Float32Array, x.shape);
        const error = relativeDiff(out.data, expected.dataSync());
        console.log(
          `${name}@${size}: max rel diff ${error.toExponential(2)}, conversion ${convertMs.toFixed(0)} ms, ` +
            `${conversion.stats.nodes} nodes, ${conversion.stats.foldedBatchNorms} BNs folded, ${(conversion.stats.weightBytes / 2 ** 20).toFixed(1)} MiB`,
        );
        expect(out.shape).toEqual(expected.shape);
        expect(error).toBeLessThan(1e-4);
        tf.dispose([x, expected]);
        await session.release();
        model.dispose();
      });
    });
  }
});
