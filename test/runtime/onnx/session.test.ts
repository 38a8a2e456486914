/**
 * ONNX Runtime sessions: the committed torch fixture (NCHW, exported by PyTorch) against what Python's onnxruntime
 * computed for the same input (scripts/onnx-fixture/make_tiny_cnn.py), fed as tfjs-style NHWC batches; and the
 * session's argument checks and lifecycle.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createOnnxSession } from '../../../src/runtime/onnx/session';
import { relativeDiff } from './helpers';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/onnx/${name}`, import.meta.url));

interface Reference {
  input: { shape: [number, number, number, number] };
  features: { shape: number[]; values: number[] };
  feature_map: { shape: [number, number, number, number]; values: number[] };
}

/** The fixture's input, NCHW as the script made it, and as the NHWC batch tl-kit feeds. */
function fixedInput(shape: readonly [number, number, number, number]) {
  const [n, c, h, w] = shape;
  const nchw = new Float32Array(n * c * h * w);
  for (let i = 0; i < nchw.length; i++) nchw[i] = ((i * 37) % 101) / 50 - 1;
  const nhwc = new Float32Array(nchw.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    nhwc[((b * h + y) * w + x) * c + k] = nchw[((b * c + k) * h + y) * w + x] as number;
  }
  return { nhwc, nhwcShape: [n, h, w, c] };
}

describe('createOnnxSession', () => {
  it('runs the torch fixture like Python onnxruntime: NHWC in, the NCHW map given back as NHWC', async () => {
    const bytes = new Uint8Array(await readFile(fixture('tiny_cnn.onnx')));
    const reference = JSON.parse(await readFile(fixture('tiny_cnn.reference.json'), 'utf8')) as Reference;
    const { nhwc, nhwcShape } = fixedInput(reference.input.shape);

    const features = await createOnnxSession('test', bytes, { layout: 'NCHW', intraOpNumThreads: 1 });
    expect(features).toMatchObject({ inputName: 'pixels', outputName: 'features', threads: 1, executionProviders: ['cpu'] });
    const out = await features.run(nhwc, nhwcShape);
    expect(out.shape).toEqual(reference.features.shape);
    expect(relativeDiff(out.data, reference.features.values)).toBeLessThan(1e-5);
    await features.release();

    const maps = await createOnnxSession('test', bytes, { layout: 'NCHW', outputName: 'feature_map' });
    const map = await maps.run(nhwc, nhwcShape);
    const [n, c, h, w] = reference.feature_map.shape;
    expect(map.shape).toEqual([n, h, w, c]);
    // NCHW reference read in NHWC order.
    const expected = new Float32Array(n * c * h * w);
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
      expected[((b * h + y) * w + x) * c + k] = reference.feature_map.values[((b * c + k) * h + y) * w + x] as number;
    }
    expect(relativeDiff(map.data, expected)).toBeLessThan(1e-5);
    expect(maps.threads).toBeGreaterThanOrEqual(1);
    await maps.release();
  });

  it('queues concurrent runs and refuses runs after release (release is idempotent)', async () => {
    const bytes = new Uint8Array(await readFile(fixture('tiny_cnn.onnx')));
    const session = await createOnnxSession('test', bytes, { layout: 'NCHW', intraOpNumThreads: 1 });
    const one = (v: number) => session.run(new Float32Array(8 * 8 * 3).fill(v), [1, 8, 8, 3]);
    const [a, b, again] = await Promise.all([one(0.5), one(-0.5), one(0.5)]);
    expect(a?.shape).toEqual([1, 16]);
    expect(Array.from(again?.data ?? [])).toEqual(Array.from(a?.data ?? []));
    expect(Array.from(b?.data ?? [])).not.toEqual(Array.from(a?.data ?? []));
    await session.release();
    await session.release();
    await expect(one(0)).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it('checks its arguments and batches with typed errors', async () => {
    const bytes = new Uint8Array(await readFile(fixture('tiny_cnn.onnx')));
    await expect(createOnnxSession('test', new Uint8Array(0))).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: test: bytes must be the bytes of an ONNX model (a non-empty Uint8Array), got a Uint8Array]`,
    );
    await expect(createOnnxSession('test', bytes, { intraOpNumThreads: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: test: intraOpNumThreads must be a positive integer, got 0]`,
    );
    await expect(createOnnxSession('test', bytes, { executionProviders: [] })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: test: executionProviders must be a non-empty list of provider names or { name, ... } objects, got []]`,
    );
    await expect(createOnnxSession('test', bytes, { outputName: 'logits' })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: test: outputName must be one of the model's outputs (features, feature_map), got "logits"]`,
    );
    await expect(createOnnxSession('test', new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'LOAD' });
    const session = await createOnnxSession('test', bytes, { layout: 'NCHW', intraOpNumThreads: 1 });
    await expect(session.run(new Float32Array(10), [1, 2, 4, 1])).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: test: shape must be [batch, height, width, channels] holding the 10 values given, got [1, 2, 4, 1]]`,
    );
    await expect(session.run(new Float32Array(16 * 2), [1, 4, 4, 2])).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: test: shape must be [batch, any, any, 3] (NHWC), got [1, 4, 4, 2]]`,
    );
    await expect(session.run([1, 2] as unknown as Float32Array, [1, 1, 1, 2])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await session.release();
  });
});
