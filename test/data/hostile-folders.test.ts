/**
 * Folders a user did not mean to be classes (archive and OS metadata, empty or all-bad folders) and file names that
 * are not valid UTF-8. Everything is generated at test time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, DatasetError } from '../../src';
import { displayName } from '../../src/internal/file-names';
import { solidPng, tempDir, writeClassFolders, writeTree } from '../fixtures/images';

describe('class folders without a usable image', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    await writeClassFolders(root, { Cat: 6, Dog: 6 }, 4, { Cat: [200, 0, 0], Dog: [0, 0, 200] });
    const junk = await solidPng(4, 4, [0, 200, 0]);
    await writeTree(root, {
      // A zip made on macOS: the __MACOSX folder mirrors the classes with AppleDouble files.
      '__MACOSX/Cat/._0.png': 'Mac OS X        \u0002',
      '__MACOSX/._Cat': 'AppleDouble',
      // OS metadata inside real classes is ignored, not skipped.
      'Cat/Thumbs.db': 'thumbnail cache',
      'Cat/desktop.ini': '[.ShellClassInfo]',
      'Cat/._0.png': 'AppleDouble',
      'Dog/.DS_Store': 'Bud1',
      'Dog/@eaDir/0.png@SynoEXIFthumb.png': junk,
      'Dog/Icon\r': '',
      // Folders that would each have become a class of zero images.
      'Hidden/.DS_Store': 'Bud1',
      'Hidden/._photo.jpg': 'AppleDouble',
      'Broken/a.jpg': 'not a jpeg',
      'Broken/b.png': new Uint8Array(0),
      'DESKTOP.INI': 'root-level metadata',
    });
    await mkdir(join(root, 'Empty'));
  });
  afterAll(() => cleanup());

  it('refuses the dataset by default, naming every such class', async () => {
    const err = await DataLoader.fromDirectory(root, { imageSize: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatchInlineSnapshot(
      `"DataLoader.fromDirectory: class folders "Broken" (all 2 files skipped, see skipped), "Empty" (no image files), "Hidden" (no image files) have no usable image; remove them or pass emptyClasses: 'drop' to leave them out (the other classes are then renumbered)"`,
    );
  });

  it("with emptyClasses: 'drop' leaves them out, reports them, and keeps the other classes' indices in order", async () => {
    const data = await DataLoader.fromDirectory(root, { imageSize: 2, batchSize: 4, splitWeights: [1, 1, 1], emptyClasses: 'drop', preprocessing: 'unit' });
    expect(data.labelNames).toEqual(['Cat', 'Dog']);
    expect(data.droppedClasses).toEqual(['Broken', 'Empty', 'Hidden']);
    expect(data.labelMode).toBe('binary');
    expect(data.skipped.map((s) => s.path)).toEqual(['Broken/a.jpg', 'Broken/b.png']);
    const all = [...data.files('train'), ...data.files('validation'), ...data.files('test')].sort();
    expect(all).toEqual([...[0, 1, 2, 3, 4, 5].map((i) => `Cat/${i}.png`), ...[0, 1, 2, 3, 4, 5].map((i) => `Dog/${i}.png`)].sort());
    // Cat images are red and class 0, Dog images blue and class 1.
    let seen = 0;
    await data.trainBatches.forEachAsync(({ xs, ys }) => {
      const pixels = xs.arraySync() as number[][][][];
      const targets = ys.arraySync() as number[][];
      pixels.forEach((img, i) => expect(targets[i]![0]).toBe((img[0]![0]![0] as number) > 0.5 ? 0 : 1));
      seen += xs.shape[0];
      tf.dispose([xs, ys]);
    });
    expect(seen).toBe(data.numExamples.train);
    data.dispose();
  });

  it('refuses a labelNames entry or class index that no usable sample has, for samples and tensors alike', async () => {
    const px = (v: number) => ({ data: new Uint8Array([v, v, v]), width: 1, height: 1, channels: 3 as const });
    const samples = [0, 1, 0, 1, 0, 1].map((i) => ({ source: px(i * 100), label: i === 0 ? 'a' : 'b' }));
    await expect(DataLoader.fromSamples(samples, { imageSize: 1, labelNames: ['a', 'b', 'c'], splitWeights: [1, 1, 1] })).rejects
      .toThrowErrorMatchingInlineSnapshot(
        `[DatasetError: DataLoader.fromSamples: class "c" (index 2) has no usable image; remove it or pass emptyClasses: 'drop' to leave it out (the other classes are then renumbered)]`,
      );
    const xs = tf.zeros([6, 1, 1, 3]) as tf.Tensor4D;
    await expect(DataLoader.fromTensors(xs, [0, 2, 0, 2, 0, 2], { imageSize: 1 })).rejects.toThrow(/class "1" \(index 1\) has no usable image/);
    const dropped = await DataLoader.fromTensors(xs, [0, 2, 0, 2, 0, 2], { imageSize: 1, splitWeights: [1, 1, 1], emptyClasses: 'drop' });
    expect(dropped.labelNames).toEqual(['0', '2']);
    expect(dropped.droppedClasses).toEqual(['1']);
    dropped.dispose();
    xs.dispose();
    // A class whose every sample is bad is empty too.
    const bad = [...samples, { source: new TextEncoder().encode('no image'), label: 'c' }];
    await expect(DataLoader.fromSamples(bad, { imageSize: 1, splitWeights: [1, 1, 1] })).rejects.toThrow(/class "c" \(index 2\) has no usable image/);
  });
});

describe('file and folder names that are not valid UTF-8', () => {
  const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

  it('loads every image by its real bytes and shows names printably and unambiguously', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const red = await solidPng(3, 3, [250, 0, 0]);
      const blue = await solidPng(3, 3, [0, 0, 250]);
      const root = Buffer.from(dir);
      const classA = bytes('caf', [0xe9]); // latin-1 "café": 0xe9 alone is not UTF-8
      const classB = bytes('dog');
      await mkdir(Buffer.concat([root, Buffer.from('/'), classA]));
      await mkdir(Buffer.concat([root, Buffer.from('/'), classB]));
      const put = (cls: Buffer, name: Buffer, content: Uint8Array) => writeFile(Buffer.concat([root, Buffer.from('/'), cls, Buffer.from('/'), name]), content);
      // Two names that Node's UTF-8 decoding would both turn into "z\uFFFD.png".
      await put(classA, bytes('z', [0xfe], '.png'), red);
      await put(classA, bytes('z', [0xff], '.png'), red);
      await put(classA, bytes('ok.png'), red);
      await put(classB, bytes('x', [0xc3, 0x28], '.png'), blue); // a broken 2-byte sequence
      await put(classB, bytes('\u00e9t\u00e9.png'), blue); // valid UTF-8 stays as it is
      await put(classB, bytes('back\\x41.png'), blue); // a real backslash is doubled, so it cannot pass for an escape
      await put(classB, bytes('line', [0x0a], 'feed.png'), blue);
      await put(classB, bytes('emoji-', [0xf0, 0x9f, 0x90, 0xb6], '.png'), blue);

      for (const validate of ['decode', 'header'] as const) {
        const data = await DataLoader.fromDirectory(dir, { imageSize: 3, splitWeights: [1, 1, 1], validate, preprocessing: 'unit' });
        expect(data.skipped).toEqual([]);
        expect(data.labelNames).toEqual(['caf\\xe9', 'dog']);
        const ids = [...data.files('train'), ...data.files('validation'), ...data.files('test')].sort();
        expect(ids).toEqual(
          [
            'caf\\xe9/ok.png',
            'caf\\xe9/z\\xfe.png',
            'caf\\xe9/z\\xff.png',
            'dog/back\\\\x41.png',
            'dog/emoji-\u{1f436}.png',
            'dog/line\\x0afeed.png',
            'dog/x\\xc3(.png',
            'dog/\u00e9t\u00e9.png',
          ].sort(),
        );
        for (const id of ids) expect(id).not.toMatch(/[\u0000-\u001f\u007f\ufffd]/);
        // Every image is read again by its real bytes while iterating.
        let seen = 0;
        for (const ds of [data.trainBatches, data.validationBatches, data.testBatches]) {
          await ds.forEachAsync(({ xs, ys }) => {
            seen += xs.shape[0];
            tf.dispose([xs, ys]);
          });
        }
        expect(seen).toBe(8);
        expect(data.skipped).toEqual([]);
        const raw = await data.getRandomRawImages(8);
        expect(raw).toHaveLength(8);
        tf.dispose(raw.map((r) => r.image));
        data.dispose();
      }
    } finally {
      await cleanup();
    }
  });

  it('displayName is one-to-one: different byte names never show the same', () => {
    const names = [
      [0x61, 0xff],
      [0x61, 0xfe],
      [0x61, 0x5c, 0x78, 0x66, 0x66], // the text a\xff
      [0x61, 0xef, 0xbf, 0xbd], // a + U+FFFD itself
      [0xc0, 0xaf], // an overlong "/"
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [0xe2, 0x82], // truncated
      [0x61, 0x5c, 0x5c],
    ].map((b) => Uint8Array.from(b));
    const shown = names.map((n) => displayName(n));
    expect(new Set(shown).size).toBe(names.length);
    expect(shown).toEqual(['a\\xff', 'a\\xfe', 'a\\\\xff', 'a\ufffd', '\\xc0\\xaf', '\\xed\\xa0\\x80', '\\xf4\\x90\\x80\\x80', '\\xe2\\x82', 'a\\\\\\\\']);
    expect(displayName(new TextEncoder().encode('Ünïcödé 猫.jpg'))).toBe('Ünïcödé 猫.jpg');
  });
});
