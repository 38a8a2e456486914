import * as tf from '@tensorflow/tfjs-core';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, DatasetError } from '../../src';
import type { Progress } from '../../src';
import { jpeg, solidPng, tempDir, writeBadFiles, writeClassFolders, writeTree } from '../fixtures/images';

describe('DataLoader.fromDirectory on a folder with bad files', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let expected: { skipped: string[]; hidden: string[] };
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    await writeClassFolders(root, { Cat: 12, Dog: 12 }, 8);
    expected = await writeBadFiles(root, 'Dog');
    await writeTree(root, {
      // Content decides the format: a PNG named .jpg and a JPEG named .txt are images.
      'Cat/really-a-png.jpg': await solidPng(5, 7, [9, 9, 9]),
      'Cat/nested/deeper/photo.txt': await jpeg(10, 6, () => [100, 100, 100]),
      'root-level-file.png': await solidPng(4, 4, [0, 0, 0]),
      '.hidden-class/x.png': await solidPng(4, 4, [0, 0, 0]),
    });
  });
  afterAll(() => cleanup());

  it('puts every file in exactly one split or in skipped, ignores hidden files, and reports progress', async () => {
    const events: Progress<'list' | 'validate'>[] = [];
    const data = await DataLoader.fromDirectory(root, { imageSize: 4, batchSize: 8, splitWeights: [2, 1, 1], onProgress: (e) => events.push(e) });
    expect(data.labelNames).toEqual(['Cat', 'Dog']);
    // A file next to the class folders has no class: it is listed, not dropped without a trace.
    expect(data.skipped.map((s) => s.path)).toEqual([...expected.skipped, 'root-level-file.png']);
    const reasons = Object.fromEntries(data.skipped.map((s) => [s.path, s.reason]));
    expect(reasons['root-level-file.png']).toBe('directly in the dataset folder, not in a class folder (images go in one sub-folder per class)');
    expect(reasons['Dog/empty.jpg']).toBe('empty file (0 bytes)');
    expect(reasons['Dog/notes.jpg']).toMatch(/^not a supported image/);
    expect(reasons['Dog/truncated.jpg']).toMatch(/^corrupt or unsupported image: .*premature end/i);
    expect(reasons['Dog/loops/self-loop']).toBe('symlink loop');
    expect(reasons['Dog/loops/up']).toMatch(/^symlink loop/);
    expect(reasons['Dog/loops/dangling.png']).toBe('broken symlink');

    const inSplits = [...data.files('train'), ...data.files('validation'), ...data.files('test')];
    expect(new Set(inSplits).size).toBe(inSplits.length);
    expect(inSplits).toHaveLength(26);
    expect(inSplits).toContain('Cat/really-a-png.jpg');
    expect(inSplits).toContain('Cat/nested/deeper/photo.txt');
    for (const hidden of expected.hidden) expect(inSplits).not.toContain(hidden);
    expect(inSplits.some((p) => p.startsWith('root-level'))).toBe(false);

    const last = events.at(-1);
    // 26 images + 4 bad regular files are validated; symlink problems are found while listing.
    expect(last).toEqual({ phase: 'validate', done: 30, total: 30 });
    expect(events.some((e) => e.phase === 'list')).toBe(true);

    // Iterating never meets a bad file: every batch is full-sized except the last.
    const before = tf.memory().numTensors;
    let seen = 0;
    await data.trainBatches.forEachAsync((b) => {
      seen += b.xs.shape[0];
      tf.dispose([b.xs, b.ys]);
    });
    expect(seen).toBe(data.numExamples.train);
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });

  it("with validate: 'header', a truncated file that passes the header check is dropped while iterating, not lost", async () => {
    const { dir, cleanup: done } = await tempDir();
    try {
      await writeClassFolders(dir, { a: 3, b: 3 }, 8);
      const good = await jpeg(64, 48, (x, y) => [x * 4, y * 5, 7]);
      await writeFile(join(dir, 'a', 'cut.jpg'), good.subarray(0, Math.floor(good.length * 0.6)));
      const data = await DataLoader.fromDirectory(dir, { imageSize: 4, batchSize: 2, splitWeights: [1, 1, 1], validate: 'header', seed: 3 });
      expect(data.skipped).toEqual([]);
      const where = (['train', 'validation', 'test'] as const).find((s) => data.files(s).includes('a/cut.jpg'))!;
      const ds = { train: data.trainBatches, validation: data.validationBatches, test: data.testBatches }[where];
      const before = data.numExamples[where];
      let seen = 0;
      await ds.forEachAsync((b) => {
        seen += b.xs.shape[0];
        tf.dispose([b.xs, b.ys]);
      });
      expect(seen).toBe(before - 1);
      expect(data.numExamples[where]).toBe(before - 1);
      expect(data.files(where)).not.toContain('a/cut.jpg');
      expect(data.skipped).toEqual([{ path: 'a/cut.jpg', reason: expect.stringMatching(/^failed while iterating: corrupt/) }]);
      data.dispose();
    } finally {
      await done();
    }
  });

  it('skips an unreadable file (when permissions are enforced)', async () => {
    const { dir, cleanup: done } = await tempDir();
    try {
      await writeClassFolders(dir, { a: 3, b: 3 }, 8);
      const locked = join(dir, 'b', 'locked.png');
      await writeFile(locked, await solidPng(4, 4, [1, 1, 1]));
      await chmod(locked, 0o000);
      const data = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1] });
      // Tests usually run as root, which reads a chmod 000 file anyway; then the file is simply usable.
      const isRoot = process.getuid?.() === 0;
      if (isRoot) expect(data.files('train').length + data.files('validation').length + data.files('test').length).toBe(7);
      else expect(data.skipped).toEqual([{ path: 'b/locked.png', reason: 'unreadable: permission denied' }]);
      await chmod(locked, 0o644);
      data.dispose();
    } finally {
      await done();
    }
  });

  it('refuses a root that is a file, a folder without two usable classes, and an empty split', async () => {
    const { dir, cleanup: done } = await tempDir();
    try {
      await writeTree(dir, { 'only/a.png': await solidPng(4, 4, [1, 1, 1]), 'junk/a.jpg': 'text' });
      await expect(DataLoader.fromDirectory(join(dir, 'only', 'a.png'))).rejects.toThrow(/is not a folder/);
      const err = await DataLoader.fromDirectory(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatasetError);
      expect((err as Error).message).toMatchInlineSnapshot(
        `"DataLoader.fromDirectory: needs at least two classes with usable images, got 1 (classes: ["junk","only"], 1 usable, 1 skipped)"`,
      );
      await mkdir(join(dir, 'two'));
      await writeTree(dir, { 'two/b.png': await solidPng(4, 4, [1, 1, 1]) });
      // 'junk' has no usable image: dropped here (by default it is an error of its own, tested in hostile-folders).
      await expect(DataLoader.fromDirectory(dir, { stratify: false, emptyClasses: 'drop' })).rejects.toThrowErrorMatchingInlineSnapshot(
        `[DatasetError: DataLoader.fromDirectory: the validation split would be empty (2 usable samples, splitWeights [8, 1, 1])]`,
      );
    } finally {
      await done();
    }
  });

  it('skips a link to a folder above the class folder (the dataset root, /) as a symlink loop: no other class leaks in', async () => {
    const { dir, cleanup: done } = await tempDir();
    try {
      await writeClassFolders(dir, { Cat: 3, Dog: 3 }, 4);
      await symlink('../..', join(dir, 'Cat', 'to-root'));
      await symlink(dir, join(dir, 'Cat', 'absolute-root'));
      await symlink('/', join(dir, 'Dog', 'to-slash'));
      const data = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1] });
      expect(data.skipped).toEqual([
        { path: 'Cat/absolute-root', reason: 'symlink loop (links to a folder that contains it)' },
        { path: 'Cat/to-root', reason: 'symlink loop (links to a folder that contains it)' },
        { path: 'Dog/to-slash', reason: 'symlink loop (links to a folder that contains it)' },
      ]);
      const files = [...data.files('train'), ...data.files('validation'), ...data.files('test')].sort();
      expect(files).toEqual(['Cat/0.png', 'Cat/1.png', 'Cat/2.png', 'Dog/0.png', 'Dog/1.png', 'Dog/2.png']);
      data.dispose();
    } finally {
      await done();
    }
  });
});

describe('DataLoader.fromDirectory on a folder of images without class folders', () => {
  it('says that images go in one sub-folder per class, and lists the loose files', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (let i = 0; i < 3; i++) await writeFile(join(dir, `photo-${i}.png`), await solidPng(4, 4, [i * 80, 0, 0]));
      await expect(DataLoader.fromDirectory(dir)).rejects.toThrow(
        /needs at least two classes with usable images, got 0 .*; 3 files are directly in the folder: put the images in one sub-folder per class, named after the class$/,
      );
    } finally {
      await cleanup();
    }
  });
});
