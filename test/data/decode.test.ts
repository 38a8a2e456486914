import * as tf from '@tensorflow/tfjs-core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, decodeImage } from '../../src';
import { jpeg, png, rawImage, solidPng, tempDir, writeTree } from '../fixtures/images';

async function firstPixel(t: tf.Tensor3D): Promise<number[]> {
  const values = Array.from(await t.data()).slice(0, 3);
  t.dispose();
  return values;
}

describe('decodeImage: formats become 8-bit RGB', () => {
  it('reads gray, RGBA (flattened onto black), 16-bit and CMYK images, and other containers', async () => {
    const gray = await sharp(Buffer.alloc(16, 77), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
    const rgba = await sharp(Buffer.from(Array.from({ length: 16 }, () => [200, 100, 50, 128]).flat()), {
      raw: { width: 4, height: 4, channels: 4 },
    })
      .png()
      .toBuffer();
    const rgb = rawImage(4, 4, () => [40, 120, 200]);
    const sixteen = await sharp(rgb, { raw: { width: 4, height: 4, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(sixteen).metadata()).depth).toBe('ushort');
    const cmyk = await sharp(rgb, { raw: { width: 4, height: 4, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const webp = await sharp(rgb, { raw: { width: 4, height: 4, channels: 3 } }).webp({ lossless: true }).toBuffer();
    const gif = await sharp(rawImage(4, 4, () => [255, 0, 0]), { raw: { width: 4, height: 4, channels: 3 } }).gif().toBuffer();
    const tiff = await sharp(rgb, { raw: { width: 4, height: 4, channels: 3 } }).tiff({ compression: 'lzw' }).toBuffer();

    const before = tf.memory().numTensors;
    const g = await decodeImage(gray);
    expect(g.shape).toEqual([4, 4, 3]);
    expect(g.dtype).toBe('int32');
    expect(await firstPixel(g)).toEqual([77, 77, 77]);
    expect(await firstPixel(await decodeImage(rgba))).toEqual([100, 50, 25]);
    expect(await firstPixel(await decodeImage(sixteen))).toEqual([40, 120, 200]);
    const c = await firstPixel(await decodeImage(cmyk));
    c.forEach((v, i) => expect(Math.abs(v - [40, 120, 200][i]!)).toBeLessThanOrEqual(25));
    expect(await firstPixel(await decodeImage(webp))).toEqual([40, 120, 200]);
    expect(await firstPixel(await decodeImage(gif))).toEqual([255, 0, 0]);
    expect(await firstPixel(await decodeImage(tiff))).toEqual([40, 120, 200]);
    // the pure-JS fallback gives the same pixels for PNG (gray, alpha, 16-bit)
    expect(await firstPixel(await decodeImage(gray, { decoder: 'pure-js' }))).toEqual([77, 77, 77]);
    expect(await firstPixel(await decodeImage(rgba, { decoder: 'pure-js' }))).toEqual([100, 50, 25]);
    expect(await firstPixel(await decodeImage(sixteen, { decoder: 'pure-js' }))).toEqual([40, 120, 200]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('applies EXIF orientation', async () => {
    const base = await sharp(rawImage(6, 2, (x) => (x < 3 ? [255, 0, 0] : [0, 0, 255])), { raw: { width: 6, height: 2, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .png()
      .toBuffer();
    const t = await decodeImage(base);
    expect(t.shape).toEqual([6, 2, 3]);
    t.dispose();
  });

  it('pins the error for bytes that are not an image, and never falls back to another decoder', async () => {
    const text = new TextEncoder().encode('hello, not an image');
    await expect(decodeImage(text)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[DecodeError: decodeImage: cannot decode 19 bytes: not a supported image (content is not JPEG, PNG, WebP, GIF, TIFF or HEIF)]`,
    );
    const good = await jpeg(64, 64, (x, y) => [x * 4, y * 4, (x * y) % 256]);
    const cut = good.subarray(0, Math.floor(good.length / 2));
    const err = await decodeImage(cut).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as Error).message).toBe(
      `decodeImage: cannot decode ${cut.length} bytes: corrupt or unsupported image: VipsJpeg: premature end of JPEG image`,
    );
    // the pure-JS decoder is only used when asked (or when sharp is missing), never as a retry after sharp failed
    await expect(decodeImage(cut, { decoder: 'pure-js' })).rejects.toThrow(/corrupt JPEG|cannot decode/);
    expect((err as Error).cause).toBeInstanceOf(Error);
    await expect(decodeImage(new Uint8Array(0))).rejects.toThrow('empty file (0 bytes)');
    await expect(decodeImage('/no/such/file.png')).rejects.toThrowErrorMatchingInlineSnapshot(
      `[DecodeError: decodeImage: cannot decode /no/such/file.png: file not found (or a broken symlink)]`,
    );
    // An object without a prototype was a raw TypeError while its name was written.
    await expect(decodeImage(Object.create(null))).rejects.toThrowErrorMatchingInlineSnapshot(`[DecodeError: decodeImage: cannot decode an object: not an image source: an object]`);
    await expect(decodeImage(good, { decoder: 'nope' as never })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: decodeImage: decoder must be one of 'auto', 'sharp', 'pure-js', got "nope"]`,
    );
  });
});

describe('decodeImage: sources', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: Server;
  let base: string;
  let bytes: Buffer;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    bytes = await solidPng(3, 2, [10, 20, 30]);
    await writeTree(dir, { 'img.png': bytes });
    server = createServer((req, res) => {
      if (req.url === '/img.png') res.writeHead(200, { 'content-type': 'image/png' }).end(bytes);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await cleanup();
  });

  it('reads paths, file URLs, http URLs, bytes, ArrayBuffers, Blobs, pixels and tensors alike', async () => {
    const before = tf.memory().numTensors;
    const tensor = tf.tensor3d(Array.from({ length: 6 }, () => [10, 20, 30, 255]).flat(), [2, 3, 4], 'int32');
    const sources = [
      join(dir, 'img.png'),
      pathToFileURL(join(dir, 'img.png')),
      `${base}/img.png`,
      new URL(`${base}/img.png`),
      new Uint8Array(bytes),
      new Uint8Array(bytes).buffer,
      new Blob([new Uint8Array(bytes)]),
      { data: new Uint8Array(Array.from({ length: 6 }, () => [10, 20, 30]).flat()), width: 3, height: 2, channels: 3 as const },
      { data: Array.from({ length: 6 }, () => [10, 20, 30, 255]).flat(), width: 3, height: 2, channels: 4 as const },
      tensor,
    ];
    for (const source of sources) {
      const t = await decodeImage(source);
      expect(t.shape).toEqual([2, 3, 3]);
      expect(Array.from(await t.data())).toEqual(Array.from({ length: 6 }, () => [10, 20, 30]).flat());
      t.dispose();
    }
    expect(tensor.isDisposed).toBe(false);
    tensor.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(decodeImage(`${base}/missing.png`)).rejects.toThrow(/HTTP 404/);
    await expect(decodeImage({ data: [1, 2], width: 3, height: 2, channels: 3 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[DecodeError: decodeImage: cannot decode pixels 3x2x3: pixels have 2 values, expected 3*2*3 = 18]`,
    );
  });

  it('resizes in sharp when given the loader size', async () => {
    const t = await decodeImage(await png(8, 4, () => [5, 6, 7]), { imageSize: [2, 3], resize: 'stretch' });
    expect(t.shape).toEqual([2, 3, 3]);
    expect(Array.from(await t.data()).slice(0, 3)).toEqual([5, 6, 7]);
    t.dispose();
  });
});
