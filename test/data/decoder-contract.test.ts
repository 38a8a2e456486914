/**
 * One decoding contract for sharp and the pure-JS fallback (jpeg-js + pngjs): the same corpus, generated here with
 * sharp, goes through both decoders, and the pixels must agree within the tolerance docs/data.md states.
 */
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DataLoader, decodeImage } from '../../src';
import { readImageSize, readOrientation } from '../../src/data/image-header';
import { rawImage, tempDir, writeTree, type Rgb } from '../fixtures/images';

async function pixels(bytes: Uint8Array, decoder: 'sharp' | 'pure-js'): Promise<{ shape: number[]; data: number[] }> {
  const t = await decodeImage(bytes, { decoder });
  const out = { shape: t.shape, data: Array.from(await t.data()) };
  t.dispose();
  return out;
}

function maxDifference(a: readonly number[], b: readonly number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

/** A 16 x 8 image of two 8 x 8 blocks on top of ... four distinct 8 x 4 quadrants: no flip or turn maps it to itself. */
const quadrants = (x: number, y: number): Rgb =>
  x < 8 ? (y < 4 ? [230, 20, 20] : [20, 230, 20]) : y < 4 ? [20, 20, 230] : [240, 240, 240];

describe('EXIF orientation is applied by both decoders', () => {
  for (const format of ['jpeg', 'png'] as const) {
    it(`${format}: all eight orientations come out upright and identical in shape, within 4 levels`, async () => {
      const base = sharp(rawImage(16, 8, quadrants), { raw: { width: 16, height: 8, channels: 3 } });
      for (let orientation = 1; orientation <= 8; orientation++) {
        const encoded = base.clone().withMetadata({ orientation });
        const bytes = format === 'jpeg' ? await encoded.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer() : await encoded.png().toBuffer();
        expect(readOrientation(bytes)).toBe(orientation);
        const viaSharp = await pixels(bytes, 'sharp');
        const viaJs = await pixels(bytes, 'pure-js');
        expect(viaSharp.shape).toEqual(orientation >= 5 ? [16, 8, 3] : [8, 16, 3]);
        expect(viaJs.shape).toEqual(viaSharp.shape);
        expect(maxDifference(viaJs.data, viaSharp.data)).toBeLessThanOrEqual(format === 'png' ? 0 : 4);
      }
    });
  }

  it('the loader turns an EXIF-rotated photo upright with either decoder', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const rotated = await sharp(rawImage(16, 8, quadrants), { raw: { width: 16, height: 8, channels: 3 } })
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 100 })
        .toBuffer();
      const files: Record<string, Uint8Array> = {};
      for (let i = 0; i < 3; i++) {
        files[`a/${i}.jpg`] = rotated;
        files[`b/${i}.jpg`] = rotated;
      }
      await writeTree(dir, files);
      for (const decoder of ['sharp', 'pure-js'] as const) {
        const data = await DataLoader.fromDirectory(dir, { splitWeights: [1, 1, 1], decoder });
        const raw = await data.getRandomRawImages(1);
        expect(raw[0]!.image.shape).toEqual([16, 8, 3]);
        tf.dispose(raw.map((r) => r.image));
        data.dispose();
      }
    } finally {
      await cleanup();
    }
  });
});

describe('colour handling is the same on both decoders', () => {
  it('CMYK JPEGs: within 16 levels per channel and 2 on average of sharp (the stated tolerance); mid-grey within 3', async () => {
    // Random colours (not the grid the table was fitted on) plus greys, as 8 x 8 blocks of one CMYK JPEG.
    let seed = 7;
    const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const colours: Rgb[] = Array.from({ length: 200 }, () => [0, 0, 0].map(() => Math.floor(random() * 256)) as unknown as Rgb);
    for (let v = 0; v <= 255; v += 17) colours.push([v, v, v]);
    colours.push([128, 128, 128]);
    const cols = 16;
    const width = cols * 8;
    const height = Math.ceil(colours.length / cols) * 8;
    const raw = rawImage(width, height, (x, y) => colours[Math.floor(y / 8) * cols + Math.floor(x / 8)] ?? [0, 0, 0]);
    const cmyk = await sharp(raw, { raw: { width, height, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const viaSharp = await pixels(cmyk, 'sharp');
    const viaJs = await pixels(cmyk, 'pure-js');
    expect(viaJs.shape).toEqual(viaSharp.shape);
    const diffs: number[] = [];
    colours.forEach((_, i) => {
      const at = ((Math.floor(i / cols) * 8 + 4) * width + (i % cols) * 8 + 4) * 3;
      for (let c = 0; c < 3; c++) diffs.push(Math.abs((viaJs.data[at + c] as number) - (viaSharp.data[at + c] as number)));
    });
    expect(Math.max(...diffs)).toBeLessThanOrEqual(16);
    expect(diffs.reduce((a, b) => a + b, 0) / diffs.length).toBeLessThanOrEqual(2);
    const grey = diffs.slice(-3);
    expect(Math.max(...grey)).toBeLessThanOrEqual(3);
  });

  it('grey, grey + alpha, palette with transparency, RGBA and 16-bit PNGs decode to the same bytes', async () => {
    const w = 6;
    const h = 5;
    const gradient = (channels: number) => Buffer.from(Array.from({ length: w * h * channels }, (_, i) => (i * 37) % 256));
    const corpus: Record<string, Buffer> = {
      grey: await sharp(gradient(1), { raw: { width: w, height: h, channels: 1 } }).png().toBuffer(),
      greyAlpha: await sharp(gradient(2), { raw: { width: w, height: h, channels: 2 } }).png().toBuffer(),
      rgba: await sharp(gradient(4), { raw: { width: w, height: h, channels: 4 } }).png().toBuffer(),
      palette: await sharp(gradient(4), { raw: { width: w, height: h, channels: 4 } }).png({ palette: true, colours: 16, dither: 0 }).toBuffer(),
      rgb16: await sharp(gradient(3), { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16').png().toBuffer(),
      grey16: await sharp(gradient(1), { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png().toBuffer(),
    };
    for (const [name, bytes] of Object.entries(corpus)) {
      const viaSharp = await pixels(bytes, 'sharp');
      const viaJs = await pixels(bytes, 'pure-js');
      expect({ name, shape: viaJs.shape }).toEqual({ name, shape: viaSharp.shape });
      expect({ name, diff: maxDifference(viaJs.data, viaSharp.data) }).toEqual({ name, diff: 0 });
    }
  });

  it('readImageSize reads the declared size of every format tl-kit decodes without sharp, and WebP/GIF', async () => {
    const img = sharp(rawImage(37, 23, () => [1, 2, 3]), { raw: { width: 37, height: 23, channels: 3 } });
    for (const bytes of [
      await img.clone().png().toBuffer(),
      await img.clone().jpeg().toBuffer(),
      await img.clone().jpeg({ progressive: true }).toBuffer(),
      await img.clone().gif().toBuffer(),
      await img.clone().webp().toBuffer(),
      await img.clone().webp({ lossless: true }).toBuffer(),
      await img.clone().webp({ lossless: true }).withExif({ IFD0: { Copyright: 'x' } }).toBuffer(),
    ]) {
      expect(readImageSize(bytes)).toEqual({ width: 37, height: 23 });
    }
    expect(readImageSize(new Uint8Array([0xff, 0xd8, 0xff]))).toBeUndefined();
  });
});

describe('embedded colour profiles', () => {
  it('a Display P3 photo (JPEG and PNG) comes out in sRGB on both decoders, within 3 levels', async () => {
    const colours: Rgb[] = [[230, 20, 20], [20, 200, 40], [30, 60, 220], [128, 128, 128], [250, 200, 30], [5, 5, 5], [255, 255, 255]];
    const raw = rawImage(8, 8 * colours.length, (_, y) => colours[Math.floor(y / 8)] as Rgb);
    const tagged = sharp(raw, { raw: { width: 8, height: 8 * colours.length, channels: 3 } }).withIccProfile('p3');
    for (const bytes of [await tagged.clone().jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer(), await tagged.clone().png().toBuffer()]) {
      expect((await sharp(bytes).metadata()).icc).toBeDefined();
      const viaSharp = await pixels(bytes, 'sharp');
      const viaJs = await pixels(bytes, 'pure-js');
      expect(maxDifference(viaJs.data, viaSharp.data)).toBeLessThanOrEqual(3);
      // The stored values are P3 and far from sRGB in saturated colours: the comparison above is not vacuous.
      const stored = await sharp(bytes).keepIccProfile().raw().toBuffer();
      expect(maxDifference(Array.from(stored), viaSharp.data)).toBeGreaterThan(30);
    }
  });
});
