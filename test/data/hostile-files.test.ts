/**
 * Files that would exhaust memory or block: decompression bombs (a header that declares a huge image), special files
 * (FIFOs, sockets, devices, folders named like images, a file swapped for a FIFO after the scan), huge sparse files
 * and oversized downloads. Every input is generated at test time; none is large on disk.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, DecodeError, decodeImage } from '../../src';
import { crc32 } from '../../src/report/png';
import { jpeg, rawImage, solidPng, tempDir, writeClassFolders, writeTree } from '../fixtures/images';

/** A PNG chunk with its CRC. */
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(8 + data.length + 4);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
  return out;
}

/** A few hundred bytes of PNG that declare `width x height` RGB pixels (a decompression bomb's header). */
function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = deflateSync(Buffer.alloc((width * 3 + 1) * 2)); // two zero rows: tiny compressed, huge declared
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', new Uint8Array(0))]);
}

/** A real small JPEG whose frame header is patched to declare `width x height`. */
async function jpegBomb(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await jpeg(16, 16, () => [10, 20, 30]));
  for (let i = 2; i + 9 < bytes.length; ) {
    const marker = bytes[i + 1] as number;
    if (marker === 0xc0 || marker === 0xc2) {
      bytes.writeUInt16BE(height, i + 5);
      bytes.writeUInt16BE(width, i + 7);
      return bytes;
    }
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  throw new Error('no frame header');
}

const both = ['sharp', 'pure-js'] as const;

describe('decompression bombs: maxPixels is checked from the header before decoding, on every decoder', () => {
  it('refuses a tiny PNG or JPEG that declares a huge image, in decodeImage and in a dataset', async () => {
    const png = pngBomb(30000, 30000);
    expect(png.length).toBeLessThan(600);
    const jpg = await jpegBomb(65000, 65000);
    for (const decoder of both) {
      await expect(decodeImage(png, { decoder })).rejects.toThrowErrorMatchingInlineSnapshot(
        `[DecodeError: decodeImage: cannot decode ${png.length} bytes: image has 30000 x 30000 = 900000000 pixels, more than maxPixels (268402689); raise maxPixels to load it]`,
      );
      await expect(decodeImage(jpg, { decoder })).rejects.toThrow(/image has 65000 x 65000 = 4225000000 pixels, more than maxPixels/);
    }
    const { dir, cleanup } = await tempDir();
    try {
      await writeClassFolders(dir, { a: 3, b: 3 }, 4);
      await writeTree(dir, { 'a/bomb.png': png, 'b/bomb.jpg': jpg });
      for (const decoder of both) {
        for (const validate of ['decode', 'header'] as const) {
          const data = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1], decoder, validate });
          expect(data.skipped.map((s) => s.path)).toEqual(['a/bomb.png', 'b/bomb.jpg']);
          for (const s of data.skipped) expect(s.reason).toMatch(/more than maxPixels \(268402689\); raise maxPixels/);
          data.dispose();
        }
      }
    } finally {
      await cleanup();
    }
  });

  it('raising maxPixels lets an image over the default load; lowering it refuses one just over, on both decoders', async () => {
    const png = await solidPng(64, 64, [1, 2, 3]);
    const jpg = await jpeg(64, 64, () => [200, 100, 50]);
    for (const decoder of both) {
      for (const bytes of [png, jpg]) {
        await expect(decodeImage(bytes, { decoder, maxPixels: 4095 })).rejects.toThrow(/image has 64 x 64 = 4096 pixels, more than maxPixels \(4095\)/);
        const t = await decodeImage(bytes, { decoder, maxPixels: 4096 });
        expect(t.shape).toEqual([64, 64, 3]);
        t.dispose();
      }
    }
    // A TIFF's size is not parsed by tl-kit: sharp's limitInputPixels enforces the same option, with the same reason.
    const tiff = await sharp(rawImage(64, 64, () => [5, 6, 7]), { raw: { width: 64, height: 64, channels: 3 } }).tiff().toBuffer();
    await expect(decodeImage(tiff, { maxPixels: 4095 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[DecodeError: decodeImage: cannot decode ${tiff.length} bytes: image has more pixels, more than maxPixels (4095); raise maxPixels to load it]`,
    );
    const { dir, cleanup } = await tempDir();
    try {
      await writeClassFolders(dir, { a: 3, b: 3 }, 4);
      await writeTree(dir, { 'a/big.tiff': tiff });
      for (const validate of ['decode', 'header'] as const) {
        const refused = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1], validate, maxPixels: 4095 });
        expect(refused.skipped).toEqual([{ path: 'a/big.tiff', reason: expect.stringMatching(/more than maxPixels \(4095\)/) }]);
        refused.dispose();
      }
      const loaded = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1], maxPixels: 4096 });
      expect(loaded.skipped).toEqual([]);
      loaded.dispose();
    } finally {
      await cleanup();
    }
    await expect(decodeImage(png, { maxPixels: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: decodeImage: maxPixels must be an integer in [1, 9007199254740991], got 0]`,
    );
  });
});

describe('special files are refused without blocking', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let socket: NetServer;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeClassFolders(dir, { a: 4, b: 4 }, 4);
    execFileSync('mkfifo', [join(dir, 'a', 'pipe.png')]);
    await mkdir(join(dir, 'b', 'folder.jpg'));
    socket = createNetServer();
    await new Promise<void>((resolve) => socket.listen(join(dir, 'b', 'socket.jpg'), resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => socket.close(resolve));
    await cleanup();
  });

  it('a FIFO, a socket and a device are skipped with their kind; a folder named .jpg is just a folder', async () => {
    for (const validate of ['decode', 'header'] as const) {
      const data = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1], validate });
      expect(data.skipped).toEqual([
        { path: 'a/pipe.png', reason: 'not a regular file (a FIFO)' },
        { path: 'b/socket.jpg', reason: 'not a regular file (a socket)' },
      ]);
      expect(data.numExamples.train + data.numExamples.validation + data.numExamples.test).toBe(8);
      data.dispose();
    }
    for (const decoder of both) {
      await expect(decodeImage(join(dir, 'a', 'pipe.png'), { decoder })).rejects.toThrow(/: not a regular file \(a FIFO\)$/);
      await expect(decodeImage('/dev/zero', { decoder })).rejects.toThrowErrorMatchingInlineSnapshot(
        `[DecodeError: decodeImage: cannot decode /dev/zero: not a regular file (a character device)]`,
      );
      await expect(decodeImage(join(dir, 'b', 'folder.jpg'), { decoder })).rejects.toThrow(/: is a folder$/);
      await expect(decodeImage(join(dir, 'b', 'socket.jpg'), { decoder })).rejects.toThrow(/: not a regular file \(a socket/);
    }
  });

  it('a file replaced by a FIFO after the scan is dropped while iterating, under both validate modes', async () => {
    for (const validate of ['decode', 'header'] as const) {
      const { dir: root, cleanup: done } = await tempDir();
      try {
        await writeClassFolders(root, { a: 3, b: 3 }, 4);
        const data = await DataLoader.fromDirectory(root, { imageSize: 4, batchSize: 2, splitWeights: [1, 1, 1], validate });
        expect(data.skipped).toEqual([]);
        await rm(join(root, 'a', '1.png'));
        execFileSync('mkfifo', [join(root, 'a', '1.png')]);
        let seen = 0;
        for (const ds of [data.trainBatches, data.validationBatches, data.testBatches]) {
          await ds.forEachAsync(({ xs, ys }) => {
            seen += xs.shape[0];
            tf.dispose([xs, ys]);
          });
        }
        expect(seen).toBe(5);
        expect(data.skipped).toEqual([{ path: 'a/1.png', reason: 'failed while iterating: not a regular file (a FIFO)' }]);
        data.dispose();
      } finally {
        await done();
      }
    }
  });
});

describe('file size: only the first bytes are read to sniff, and every read is capped by maxFileBytes', () => {
  it('refuses a 1.5 GB sparse file named .jpg after 64 bytes, and a 1.5 GB PNG-looking file without reading it', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeClassFolders(dir, { a: 3, b: 3 }, 4);
      const sparse = async (path: string, head: Uint8Array): Promise<void> => {
        const handle = await open(path, 'w');
        await handle.write(head, 0, head.length, 0);
        await handle.truncate(1.5 * 2 ** 30);
        await handle.close();
      };
      await sparse(join(dir, 'a', 'huge.jpg'), new TextEncoder().encode('not an image at all'));
      await sparse(join(dir, 'b', 'huge.png'), (await solidPng(4, 4, [1, 1, 1])).subarray(0, 33));
      const before = process.memoryUsage().arrayBuffers;
      const data = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1] });
      expect(data.skipped).toEqual([
        { path: 'a/huge.jpg', reason: 'not a supported image (content is not JPEG, PNG, WebP, GIF, TIFF or HEIF)' },
        {
          path: 'b/huge.png',
          reason: 'file is larger than maxFileBytes (1610612736 > 268435456 bytes); raise maxFileBytes to read it',
        },
      ]);
      await expect(decodeImage(join(dir, 'a', 'huge.jpg'))).rejects.toThrow(/not a supported image/);
      await expect(decodeImage(join(dir, 'b', 'huge.png'))).rejects.toThrow(/larger than maxFileBytes/);
      // Reading either file whole would have allocated 1.5 GB of buffers.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
      data.dispose();
    } finally {
      await cleanup();
    }
  });

  it('maxFileBytes bounds files, Blobs and downloads (with or without a Content-Length)', async () => {
    const big = await sharp(rawImage(256, 256, (x, y) => [x, y, (x * y) % 256]), { raw: { width: 256, height: 256, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    const limit = big.length - 1;
    const { dir, cleanup } = await tempDir();
    let server: Server | undefined;
    try {
      await writeFile(join(dir, 'big.png'), big);
      await expect(decodeImage(join(dir, 'big.png'), { maxFileBytes: limit })).rejects.toThrow(
        `larger than maxFileBytes (${big.length} > ${limit} bytes); raise maxFileBytes to read it`,
      );
      const t = await decodeImage(join(dir, 'big.png'), { maxFileBytes: big.length });
      expect(t.shape).toEqual([256, 256, 3]);
      t.dispose();
      await expect(decodeImage(new Blob([new Uint8Array(big)]), { maxFileBytes: limit })).rejects.toThrow(/larger than maxFileBytes/);
      server = createServer((req, res) => {
        if (req.url === '/sized.png') res.writeHead(200, { 'content-length': big.length }).end(big);
        else {
          // Chunked, so the size is only known by counting.
          res.writeHead(200, { 'content-type': 'image/png' });
          res.write(big.subarray(0, 1000));
          res.end(big.subarray(1000));
        }
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(decodeImage(`${base}/sized.png`, { maxFileBytes: limit })).rejects.toThrow(`(${big.length} > ${limit} bytes)`);
      await expect(decodeImage(`${base}/chunked.png`, { maxFileBytes: limit })).rejects.toThrow(`(more than ${limit} bytes)`);
      const fetched = await decodeImage(`${base}/chunked.png`, { maxFileBytes: big.length });
      expect(fetched.shape).toEqual([256, 256, 3]);
      fetched.dispose();
      const small = await solidPng(4, 4, [9, 9, 9]);
      const data = await DataLoader.fromSamples(
        [
          ...[0, 1, 0, 1, 0, 1].map((label, i) => ({ source: small, label, id: `small-${i}` })),
          { source: `${base}/sized.png`, label: 0 },
          { source: join(dir, 'big.png'), label: 1, id: 'big-file' },
        ],
        { imageSize: 4, splitWeights: [1, 1, 1], maxFileBytes: limit },
      );
      expect(data.skipped).toEqual([
        { path: `${base}/sized.png`, reason: `file is larger than maxFileBytes (${big.length} > ${limit} bytes); raise maxFileBytes to read it` },
        { path: 'big-file', reason: `file is larger than maxFileBytes (${big.length} > ${limit} bytes); raise maxFileBytes to read it` },
      ]);
      data.dispose();
    } finally {
      server?.closeAllConnections();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await cleanup();
    }
  });

  it('an image server that never answers, or stalls mid-body, fails the image after timeoutMs', async () => {
    const small = await solidPng(4, 4, [9, 9, 9]);
    const server = createServer((req, res) => {
      if (req.url === '/silent.png') return; // never answers
      if (req.url === '/stalls.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(small.subarray(0, 10)); // then nothing more
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png' }).end(small);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const silent = decodeImage(`${base}/silent.png`, { timeoutMs: 300 });
      await expect(silent).rejects.toBeInstanceOf(DecodeError);
      await expect(silent).rejects.toThrow(/no response within 300 ms \(timeoutMs\)/);
      await expect(decodeImage(`${base}/stalls.png`, { timeoutMs: 300 })).rejects.toThrow(/: fetch failed: stalled: no data for 300 ms after 10 bytes \(timeoutMs\)$/);
      expect(Date.now() - started).toBeLessThan(5000);
      const before = tf.memory().numTensors;
      const data = await DataLoader.fromSamples(
        [
          ...[0, 1, 0, 1, 0, 1].map((label, i) => ({ source: `${base}/ok-${i}.png`, label })),
          { source: `${base}/silent.png`, label: 0, id: 'silent' },
        ],
        { imageSize: 4, splitWeights: [1, 1, 1], timeoutMs: 300 },
      );
      expect(data.skipped).toEqual([{ path: 'silent', reason: 'fetch failed: no response within 300 ms (timeoutMs)' }]);
      expect(data.numExamples).toEqual({ train: 2, validation: 2, test: 2 });
      data.dispose();
      expect(tf.memory().numTensors).toBe(before);
      await expect(decodeImage(`${base}/ok.png`, { timeoutMs: 0 })).rejects.toThrow('decodeImage: timeoutMs must be a number of milliseconds in (0, 86400000], got 0');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('decodeImage errors stay DecodeErrors', async () => {
    await expect(decodeImage('/dev/null')).rejects.toBeInstanceOf(DecodeError);
  });
});
