import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { decodeImage, prepareImages } from '../../src';
import type { PreprocessingMode, ResizeMode } from '../../src';
import { resizePlan } from '../../src/data/resize-plan';
import { png, type Rgb } from '../fixtures/images';

const GREEN: Rgb = [0, 200, 0];
const RED: Rgb = [220, 0, 0];
const BLUE: Rgb = [0, 0, 240];
const BLACK: Rgb = [0, 0, 0];
/** 40 wide x 20 high: x<10 green, 10..19 red, 20..29 blue, 30..39 green. */
const bands = (x: number): Rgb => (x < 10 ? GREEN : x < 20 ? RED : x < 30 ? BLUE : GREEN);

/**
 * Expected 10x10 outputs, from the geometry worked out by hand:
 * - stretch: all 40 columns -> 10 (4 source columns per output column);
 * - center-crop: the centred 20x20 square, source columns 10..29 -> 10 (2 per output column);
 * - pad: all 40 columns -> 10 and 20 rows -> 5, placed at rows 2..6 (2 black rows above, 3 below).
 * Output column j samples around source x = x0 + (j + 0.5) * s - 0.5 (half-pixel centres). tfjs's bilinear reads
 * the two nearest columns; sharp's antialiased linear kernel is a triangle reaching `s` source columns each side. A
 * pixel is checked only where every column it reads has the same colour (otherwise it legitimately blends two
 * bands); `kernelRadius` says which rule applies.
 */
function expected(mode: ResizeMode, row: number, col: number, kernelRadius: (scale: number) => number): Rgb | null {
  if (mode === 'pad' && (row < 2 || row >= 7)) return BLACK;
  const [x0, width] = mode === 'center-crop' ? [10, 20] : [0, 40];
  const scale = width / 10;
  const cx = x0 + (col + 0.5) * scale - 0.5;
  const r = kernelRadius(scale);
  const read: Rgb[] = [];
  for (let x = Math.ceil(cx - r); x <= Math.floor(cx + r); x++) {
    if (Math.abs(x - cx) < r || r === 1) read.push(bands(Math.min(x0 + width - 1, Math.max(x0, x))));
  }
  return read.every((c) => c === read[0]) ? (read[0] ?? null) : null;
}
const TFJS_BILINEAR = (): number => 1;
const SHARP_LINEAR = (scale: number): number => Math.max(1, scale);

async function checkPixels(out: number[][][], mode: ResizeMode, tolerance: number, kernelRadius: (scale: number) => number): Promise<void> {
  let checked = 0;
  for (let r = 0; r < 10; r++) {
    for (let c = 0; c < 10; c++) {
      const want = expected(mode, r, c, kernelRadius);
      if (!want) continue;
      checked++;
      const got = out[r]![c]!;
      got.forEach((v, k) => expect(Math.abs(v - want[k]!), `${mode} pixel (${r}, ${c}) channel ${k}: ${v} vs ${want[k]}`).toBeLessThanOrEqual(tolerance));
    }
  }
  expect(checked).toBeGreaterThanOrEqual(50);
}

describe('resize modes against hand-computed pixels', () => {
  for (const mode of ['stretch', 'center-crop', 'pad'] as const) {
    it(`${mode}: sharp (decode+resize in libvips) and the tfjs path agree with the geometry`, async () => {
      const bytes = await png(40, 20, bands);
      const before = tf.memory().numTensors;
      // sharp path: the image comes back already at 10x10
      const small = await decodeImage(bytes, { imageSize: 10, resize: mode });
      expect(small.shape).toEqual([10, 10, 3]);
      const viaSharp = prepareImages(small, { imageSize: 10, resize: mode, preprocessing: 'none' });
      await checkPixels((await viaSharp.array())[0]!, mode, 3, SHARP_LINEAR);
      // tfjs path: full-size decode (pure-JS decoder ignores the size hint), resized by prepareImages
      const full = await decodeImage(bytes, { imageSize: 10, resize: mode, decoder: 'pure-js' });
      expect(full.shape).toEqual([20, 40, 3]);
      const viaTf = prepareImages(full, { imageSize: 10, resize: mode, preprocessing: 'none' });
      await checkPixels((await viaTf.array())[0]!, mode, 0.5, TFJS_BILINEAR);
      tf.dispose([small, viaSharp, full, viaTf]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('computes plans for odd remainders and extreme aspect ratios', () => {
    expect(resizePlan(21, 40, 10, 10, 'pad')).toEqual({
      crop: { top: 0, left: 0, height: 21, width: 40 },
      scaled: { height: 5, width: 10 },
      pad: { top: 2, bottom: 3, left: 0, right: 0 },
    });
    expect(resizePlan(100, 1, 8, 8, 'center-crop').crop).toEqual({ top: 49, left: 0, height: 1, width: 1 });
    expect(resizePlan(1, 1000, 4, 4, 'pad').scaled).toEqual({ height: 1, width: 4 });
  });
});

describe('preprocessing modes against hand-computed values', () => {
  const pixel = (): tf.Tensor3D => tf.tensor3d([[[255, 128, 0]]], [1, 1, 3], 'int32');
  const cases: [string, PreprocessingMode, number[]][] = [
    ['tf: x / 127.5 - 1', 'tf', [1, 128 / 127.5 - 1, -1]],
    ['unit: x / 255', 'unit', [1, 128 / 255, 0]],
    ['none: 0..255', 'none', [255, 128, 0]],
    ['caffe: BGR minus ImageNet mean', 'caffe', [0 - 103.939, 128 - 116.779, 255 - 123.68]],
    ['torch: (x / 255 - mean) / std', 'torch', [(1 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (0 - 0.406) / 0.225]],
    ['a function', (x: tf.Tensor4D) => tf.mul(x, 2), [510, 256, 0]],
  ];
  for (const [name, preprocessing, want] of cases) {
    it(name, () => {
      const img = pixel();
      const before = tf.memory().numTensors;
      const out = prepareImages([img], { imageSize: [1, 1], preprocessing });
      expect(out.dtype).toBe('float32');
      const got = Array.from(out.dataSync());
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
      out.dispose();
      expect(tf.memory().numTensors).toBe(before);
      img.dispose();
    });
  }

  it('pins argument errors', () => {
    const img = pixel();
    expect(() => prepareImages([], {})).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: prepareImages: images must be a non-empty list of Tensor3D, got []]`);
    expect(() => prepareImages(img, { imageSize: [0, 3] })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: prepareImages: imageSize must be a positive integer or [height, width] of positive integers, got [0, 3]]`,
    );
    expect(() => prepareImages(img, { preprocessing: 'keras' as never })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: prepareImages: preprocessing must be one of 'tf', 'caffe', 'torch', 'unit', 'none' or a function, got "keras"]`,
    );
    expect(() => prepareImages(img, null as never)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: prepareImages: options must be an object or undefined, got null]`);
    // A user function written with chained methods (not registered with tfjs-core alone) is a typed error with a hint.
    const before = tf.memory().numTensors;
    expect(() => prepareImages(img, { preprocessing: (x) => (x as unknown as { div(n: number): tf.Tensor4D }).div(255) })).toThrowErrorMatchingInlineSnapshot(`[TlKitError: prepareImages: the preprocessing function threw (x.div is not a function); write it with tf functions, e.g. (x) => tf.div(x, 255), since chained tensor methods need the full @tensorflow/tfjs]`);
    expect(tf.memory().numTensors).toBe(before);
    // A thrown object without a string form (null prototype) was a raw TypeError while the message was written.
    expect(() => prepareImages(img, { preprocessing: () => { throw Object.create(null); } })).toThrow('prepareImages: the preprocessing function threw (a thrown object)');
    const gray = tf.zeros([2, 2, 1]) as tf.Tensor3D;
    expect(() => prepareImages(gray)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: prepareImages: images must be a live tf.Tensor3D [height, width, 3], got [2, 2, 1]]`,
    );
    tf.dispose([img, gray]);
  });
});

describe('loader batches equal decodeImage + prepareImages', () => {
  for (const preprocessing of ['tf', 'caffe', 'torch', 'unit', 'none'] as const) {
    for (const resize of ['stretch', 'center-crop', 'pad'] as const) {
      it(`${preprocessing} / ${resize}`, async () => {
        const { DataLoader } = await import('../../src');
        const bytes = await png(23, 17, (x, y) => [(x * 11) % 256, (y * 15) % 256, (x * y) % 256]);
        const samples = ['a', 'b', 'a', 'b', 'a', 'b'].map((label, i) => ({ source: bytes, label, id: `s${i}` }));
        const opts = { imageSize: [6, 9] as [number, number], resize, preprocessing };
        const data = await DataLoader.fromSamples(samples, { ...opts, splitWeights: [1, 1, 1], batchSize: 1 });
        const [batch] = await data.testBatches.take(1).toArray();
        const image = await decodeImage(bytes, opts);
        const single = prepareImages(image, opts);
        expect(Array.from(batch!.xs.dataSync())).toEqual(Array.from(single.dataSync()));
        tf.dispose([batch!.xs, batch!.ys, image, single]);
        data.dispose();
      });
    }
  }
});
