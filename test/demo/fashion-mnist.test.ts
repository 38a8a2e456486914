import { mkdtemp, readdir, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FASHION_MNIST_LABELS,
  classFolderName,
  encodePng,
  exportFashionMnist,
  parseClasses,
  readFashionMnistClass,
} from '../../demo/fashion-mnist';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('Fashion-MNIST exporter', () => {
  it('parses class selections by id, name and all', () => {
    expect(parseClasses('all')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(parseClasses('6,0')).toEqual([0, 6]);
    expect(parseClasses('shirt, T-shirt/top')).toEqual([0, 6]);
    expect(parseClasses('Pullover,coat,2')).toEqual([2, 4]);
    expect(() => parseClasses('Shirt')).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: --classes: need at least two different classes, got 'Shirt']`,
    );
    expect(() => parseClasses('Shirt,Hat')).toThrow(/unknown class 'Hat'/);
  });

  it('names folders after the standard labels', () => {
    expect(FASHION_MNIST_LABELS).toHaveLength(10);
    expect(classFolderName(0)).toBe('T-shirt-top');
    expect(classFolderName(9)).toBe('Ankle boot');
    expect(() => classFolderName(10)).toThrow(RangeError);
  });

  it('encodes 784 pixels as a 28x28 grayscale PNG that decodes back to the same values', () => {
    const pixels = Array.from({ length: 784 }, (_, i) => i % 256);
    const decoded = PNG.sync.read(encodePng(pixels));
    expect([decoded.width, decoded.height]).toEqual([28, 28]);
    expect(Array.from({ length: 784 }, (_, i) => decoded.data[i * 4])).toEqual(pixels);
  });

  it('writes one folder per class, skips nothing it should keep, and reuses the finished folder', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'tlkit-fmnist-'));
    dirs.push(cacheDir);
    const first = await exportFashionMnist({ classes: [6, 0], samplesPerClass: 5, cacheDir });
    expect(first.cached).toBe(false);
    expect(first.counts).toEqual({ 'T-shirt-top': 5, Shirt: 5 });
    expect((await readdir(first.root)).sort()).toEqual(['Shirt', 'T-shirt-top']);
    const files = await readdir(join(first.root, 'Shirt'));
    expect(files).toHaveLength(5);
    // The PNG holds exactly the package's pixels for that index.
    const shirts = await readFashionMnistClass(6);
    const name = files.sort()[0] ?? '';
    const png = PNG.sync.read(await readFile(join(first.root, 'Shirt', name)));
    expect(png.data[4 * 400]).toBe(shirts[Number(name.slice(0, 5))]?.[400]);

    const second = await exportFashionMnist({ classes: [0, 6], samplesPerClass: 5, cacheDir });
    expect(second).toMatchObject({ root: first.root, cached: true });
    // No temporary folders are left behind.
    expect(await readdir(cacheDir)).toEqual(['fashion-mnist-0-6-n5']);
  });

  it('leaves out exact duplicate images so no test image can be a copy of a training image', async () => {
    // Class 0 of the package repeats image 611 at index 839 (found by hashing every image).
    const tshirts = await readFashionMnistClass(0);
    expect(tshirts[839]).toEqual(tshirts[611]);
    const cacheDir = await mkdtemp(join(tmpdir(), 'tlkit-fmnist-'));
    dirs.push(cacheDir);
    const result = await exportFashionMnist({ classes: [0, 1], samplesPerClass: 845, cacheDir });
    expect(result.duplicatesSkipped).toBeGreaterThanOrEqual(1);
    const files = await readdir(join(result.root, 'T-shirt-top'));
    expect(files).toContain('00611.png');
    expect(files).not.toContain('00839.png');
    expect(files).toHaveLength(845);
  });

  it('refuses sample counts it cannot honour', async () => {
    await expect(
      exportFashionMnist({ classes: [0, 6], samplesPerClass: 0, cacheDir: tmpdir() }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[RangeError: --samples: expected an integer 1..6900, got 0]`);
  });
});
