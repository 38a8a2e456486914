/**
 * Fuzz of the data entry points: `DataLoader.fromDirectory` (class folders of valid, damaged and random files under
 * hostile names), `fromSamples`, `fromTensors`, the loader's methods and datasets, `decodeImage` and `prepareImages`,
 * each with hostile arguments and option values. The contract is in `harness.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, Wrapper, decodeImage, prepareImages } from '../../src';
import { tinyConvBnBase } from '../fixtures/bases';
import { jpeg, png, tempDir, writeClassFolders } from '../fixtures/images';
import { caseCount, FuzzRun, makeSharedHostiles, type Fuzzer, type SharedHostiles } from './harness';

let root: string;
let cleanup: () => Promise<void>;
let server: Server;
let origin: string;
let shared: SharedHostiles;
let validPng: Uint8Array<ArrayBuffer>;
let validJpeg: Uint8Array<ArrayBuffer>;
let served: Uint8Array = new Uint8Array(0);

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('tlkit-fuzz-data-'));
  shared = makeSharedHostiles(() => tinyConvBnBase(), (base) => Wrapper(base));
  validPng = new Uint8Array(await png(8, 6, (x, y) => [x * 30, y * 40, 128]));
  validJpeg = new Uint8Array(await jpeg(6, 8, (x, y) => [200, x * 30, y * 25]));
  // Serves whatever the current case put in `served`; `/status/<n>` answers that status.
  server = createServer((req, res) => {
    const status = /^\/status\/(\d+)/.exec(req.url ?? '')?.[1];
    if (status !== undefined) return res.writeHead(Number(status)).end();
    res.writeHead(200, { 'content-type': 'image/png' }).end(served);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await cleanup();
});

/** Valid loader options that keep a case small: 8 px images, tiny batches, equal splits. */
const VALID_LOADER = { imageSize: 8, batchSize: 2, splitWeights: [1, 1, 1] as [number, number, number], seed: 3, emptyClasses: 'drop' as const };
const LOADER_KEYS = ['imageSize', 'batchSize', 'splitWeights', 'splits', 'splitMethod', 'stratify', 'seed', 'shuffleBufferSize', 'preprocessing', 'resize', 'labelMode', 'labelNames', 'cache', 'concurrency', 'validate', 'decoder', 'maxPixels', 'maxFileBytes', 'emptyClasses', 'onProgress'];

/** Option values close to valid ones, so that mutations reach past the first check. */
function loaderValue(f: Fuzzer, key: string): unknown {
  switch (key) {
    case 'imageSize':
      return f.pick([[8, 0], [4, 4, 4], 1, 8193, [8193, 2], 0.5, '8', [3, 5]]);
    case 'splits':
      return f.pick([{ train: '[:50%]', validation: '[50%:75%]', test: '[75%:]' }, { train: '[:1]', validation: '[1:1]', test: '[1:]' }, { train: '[:-1]', validation: '[-1:]', test: '[0:0]' }, { train: '[%:]', validation: '', test: '[:]' }]);
    case 'labelNames':
      return f.pick([['a'], ['b', 'a'], ['a', 'a'], ['a', 'b', 'c'], ['', 'b'], ['__proto__', 'constructor']]);
    case 'preprocessing':
      return f.pick(['tf', 'caffe', 'none', (x: tf.Tensor4D) => x, (x: tf.Tensor4D) => tf.mean(x), () => tf.zeros([1, 2, 2, 3], 'int32')]);
    case 'maxPixels':
    case 'maxFileBytes':
      return f.pick([1, 47, 48, 100, 2 ** 32, 2 ** 32 + 1]);
    default:
      return f.number();
  }
}

/** A file name a user's folder could hold. */
function fileName(f: Fuzzer, i: number): string {
  const stem = f.pick(['img', 'é🙂', ' spaced ', '.hidden', '._apple', 'x'.repeat(200), 'a\nb', 'Thumbs', '-rf']);
  return `${stem}${i}${f.pick(['.png', '.jpg', '.jpeg', '.PNG', '.gif', '.txt', '', '.png.png'])}`;
}

/** Writes a dataset of 1-3 class folders of valid, damaged and random files; returns its root. */
async function writeDataset(f: Fuzzer, dir: string): Promise<void> {
  const classes = f.chance(0.1) ? f.int(2) : 2 + f.int(2);
  for (let c = 0; c < classes; c++) {
    const folder = join(dir, f.pick(['a', 'b', 'c', '__MACOSX', 'é', 'class with spaces', '.git'])+ c);
    await mkdir(folder, { recursive: true });
    const files = f.chance(0.1) ? 0 : 2 + f.int(4);
    for (let i = 0; i < files; i++) {
      const valid = f.pick([validPng, validJpeg]);
      const bytes = f.chance(0.5) ? valid : f.bytes(valid);
      const sub = f.chance(0.15) ? join(folder, 'nested') : folder;
      await mkdir(sub, { recursive: true });
      const path = join(sub, fileName(f, i));
      f.note('file', `${path.slice(dir.length)} ${bytes === valid ? 'valid' : `${bytes.length} bytes`}`);
      await writeFile(path, bytes);
    }
    if (f.chance(0.1)) await mkdir(join(folder, 'empty-sub.png'), { recursive: true });
    if (f.chance(0.2)) {
      const target = f.pick(['..', '../..', '/', dir, 'missing.png', '.', '/dev/zero', `../${f.pick(['a', 'b'])}0`]);
      f.note('link', target);
      await symlink(target, join(folder, `link${c}${f.pick(['', '.png'])}`));
    }
  }
}

/** Uses a loader the way training does: one epoch of each split, its methods, a few raw images. */
async function exercise(f: Fuzzer, loader: DataLoader): Promise<void> {
  for (const dataset of [loader.trainBatches, loader.validationBatches, loader.testBatches]) {
    await dataset.forEachAsync((batch) => tf.dispose([batch.xs, batch.ys]));
  }
  loader.files('test');
  loader.getLabelName(0);
  const raw = await loader.getRandomRawImages(1 + f.int(3));
  tf.dispose(raw.map((r) => r.image));
}

let caseDirs = 0;

describe('fuzz: data entry points', () => {
  it('DataLoader.fromDirectory: damaged files, hostile names, hostile options', async () => {
    const run = new FuzzRun('fromDirectory', shared);
    const good = join(root, 'good');
    await writeClassFolders(good, { cat: 3, dog: 3 }, 6);
    await run.control('folder', async (f) => exercise(f, f.own(await DataLoader.fromDirectory(good, VALID_LOADER))));
    for (let i = 0; i < caseCount(24); i++) {
      const dir = join(root, `dir-${caseDirs++}`);
      await run.check('folder', async (f) => {
        await mkdir(dir, { recursive: true });
        await writeDataset(f, dir);
        const base = { ...VALID_LOADER, validate: f.pick(['decode', 'header'] as const), decoder: f.pick(['auto', 'pure-js'] as const) };
        const options = f.note('options', f.chance(0.6) ? base : f.options(base, LOADER_KEYS, (k) => loaderValue(f, k)));
        const rootArg = f.note('root', f.chance(0.9) ? dir : f.pick([f.hostile(), join(dir, 'missing'), join(dir, 'a0'), '/dev/null']));
        const loader = f.own(await DataLoader.fromDirectory(rootArg as string, options as never));
        await exercise(f, loader);
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('DataLoader.fromSamples: mixed sources (bytes, files, URLs, pixels, tensors) and hostile labels and options', async () => {
    const run = new FuzzRun('fromSamples', shared);
    await run.control('pixels', async (f) => {
      const pixels = (v: number) => ({ data: new Uint8Array(4 * 4 * 3).fill(v), width: 4, height: 4, channels: 3 as const });
      const samples = [0, 1, 2, 3, 4, 5].map((k) => ({ source: pixels(k * 40), label: k % 2 === 0 ? 'cat' : 'dog' }));
      await exercise(f, f.own(await DataLoader.fromSamples(samples, VALID_LOADER)));
    });
    const dir = join(root, 'samples');
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < caseCount(40); i++) {
      await run.check('samples', async (f) => {
        // Boxed: a hostile thenable returned from an async function would never settle.
        const source = async (): Promise<[unknown]> => {
          switch (f.int(8)) {
            case 0:
              return [f.pick([validPng, validJpeg])];
            case 1:
              return [f.bytes(f.pick([validPng, validJpeg]))];
            case 2: {
              const path = join(dir, `s${f.int(1e9)}.png`);
              await writeFile(path, f.chance(0.5) ? validPng : f.bytes(validPng));
              return [path];
            }
            case 3:
              served = f.chance(0.5) ? validPng : f.bytes(validPng);
              return [f.pick([`${origin}/image.png`, `${origin}/status/404`, `${origin}/status/500`, new URL(`${origin}/image.png`)])];
            case 4:
              return [{ data: new Uint8Array(4 * 4 * 3).fill(f.int(256)), width: 4, height: 4, channels: 3 }];
            case 5:
              return [f.own(tf.fill([4, 4, 3], f.int(256), 'int32'))];
            case 6:
              return [new Blob([f.chance(0.5) ? validPng : f.bytes(validPng)])];
            default:
              return [f.hostile()];
          }
        };
        const count = f.chance(0.1) ? f.int(4) : 6 + f.int(6);
        const samples: unknown[] = [];
        const labels = f.pick([['cat', 'dog'], [0, 1], [0, 1, 2]]);
        for (let s = 0; s < count; s++) {
          const label = f.chance(0.9) ? labels[s % labels.length] : f.hostile();
          const sample: Record<string, unknown> = { source: f.note('source', (await source())[0]), label: f.note('label', label) };
          if (f.chance(0.2)) sample.id = f.chance(0.5) ? `id-${s % 3}` : f.hostile();
          samples.push(f.chance(0.05) ? f.hostile() : sample);
        }
        const argument = f.note('samples', f.chance(0.93) ? samples : f.hostile());
        const options = f.note('options', f.chance(0.5) ? VALID_LOADER : f.options(VALID_LOADER, LOADER_KEYS, (k) => loaderValue(f, k)));
        const loader = f.own(await DataLoader.fromSamples(argument as never, options as never));
        await exercise(f, loader);
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('DataLoader.fromTensors: tensors of every rank, dtype and size, hostile labels and options', async () => {
    const run = new FuzzRun('fromTensors', shared);
    await run.control('tensors', async (f) => {
      const xs = f.own(tf.randomUniform([6, 4, 4, 3], 0, 255)) as tf.Tensor4D;
      await exercise(f, f.own(await DataLoader.fromTensors(xs, [0, 1, 0, 1, 0, 1], VALID_LOADER)));
    });
    for (let i = 0; i < caseCount(40); i++) {
      await run.check('tensors', async (f) => {
        const n = f.pick([0, 1, 4, 6]);
        const xs = f.chance(0.8)
          ? f.own(tf.randomUniform([n, f.pick([1, 3, 5]), f.pick([2, 4]), f.pick([1, 3, 4, 2])], 0, f.pick([255, 1e9, -5]), f.pick(['float32', 'int32'] as const)))
          : f.hostile();
        const labels = ((): unknown => {
          switch (f.int(5)) {
            case 0:
              return Array.from({ length: n }, (_, k) => k % 2);
            case 1:
              return f.own(tf.tensor1d(Array.from({ length: n }, (_, k) => k % 3), f.pick(['int32', 'float32'] as const)));
            case 2:
              return f.own(tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, k) => k % 2), 'int32'), 2)));
            case 3:
              return Array.from({ length: n }, () => (f.chance(0.7) ? f.int(2) : f.number()));
            default:
              return f.hostile();
          }
        })();
        f.note('xs', xs);
        f.note('labels', labels);
        const options = f.note('options', f.chance(0.5) ? VALID_LOADER : f.options(VALID_LOADER, LOADER_KEYS, (k) => loaderValue(f, k)));
        const loader = f.own(await DataLoader.fromTensors(xs as never, labels as never, options as never));
        await exercise(f, loader);
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it("the loader's methods and datasets with hostile arguments, before and after dispose", async () => {
    const run = new FuzzRun('loader methods', shared);
    const xs = tf.randomUniform([6, 4, 4, 3], 0, 255) as tf.Tensor4D;
    const loader = await DataLoader.fromTensors(xs, [0, 1, 0, 1, 0, 1], VALID_LOADER);
    xs.dispose();
    const methods = ['getLabelName', 'files', 'getRandomRawImages', 'batches'] as const;
    await run.control('methods', async (f) => {
      loader.getLabelName(1);
      loader.files('train');
      (await loader.getRandomRawImages(2, { split: 'test' })).forEach((r) => f.own(r.image));
      await loader.batches('train', { shuffle: true }).forEachAsync((batch) => tf.dispose([batch.xs, batch.ys]));
    });
    for (let i = 0; i < caseCount(60); i++) {
      const method = run.fuzzer.pick(methods);
      if (i === caseCount(60) - 15) loader.dispose();
      await run.check(method, async (f) => {
        const a = f.note('a', f.chance(0.3) ? f.pick([0, 1, 'test', 'train', 2]) : f.hostile());
        const b = f.note('b', f.chance(0.3) ? f.pick([{ shuffle: true }, { split: 'test' }, {}]) : f.hostile());
        if (method === 'getLabelName') return loader.getLabelName(a as number);
        if (method === 'files') return loader.files(a as 'test');
        if (method === 'getRandomRawImages') {
          const images = await loader.getRandomRawImages(a as number, b as never);
          images.forEach((r) => f.own(r.image));
          return;
        }
        const dataset = loader.batches(a as 'test', b as never);
        await dataset.forEachAsync((batch) => tf.dispose([batch.xs, batch.ys]));
      });
    }
    loader.dispose();
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.codes.DISPOSED).toBeGreaterThan(0);
  });

  it('decodeImage: damaged and random bytes from every kind of source, hostile options', async () => {
    const run = new FuzzRun('decodeImage', shared);
    const dir = join(root, 'decode');
    await mkdir(dir, { recursive: true });
    const keys = ['imageSize', 'resize', 'decoder', 'preprocessing', 'maxPixels', 'maxFileBytes'];
    const valid = { imageSize: 4, decoder: 'auto' };
    await run.control('png and jpeg', async (f) => {
      f.own(await decodeImage(validPng, { imageSize: 4, decoder: 'pure-js' }));
      f.own(await decodeImage(new Blob([validJpeg])));
    });
    for (let i = 0; i < caseCount(60); i++) {
      await run.check('decode', async (f) => {
        const bytes = f.chance(0.2) ? f.pick([validPng, validJpeg]) : f.bytes(f.pick([validPng, validJpeg]));
        let source: unknown;
        switch (f.int(6)) {
          case 0:
          case 1:
            source = bytes;
            break;
          case 2: {
            source = join(dir, `d${i}${f.pick(['.png', '.jpg', ''])}`);
            await writeFile(source as string, bytes);
            break;
          }
          case 3:
            served = bytes;
            source = `${origin}/image.png`;
            break;
          case 4:
            source = new Blob([bytes]);
            break;
          default:
            source = f.hostile();
        }
        f.note('source', source);
        const options = f.note('options', f.chance(0.4) ? { ...valid, decoder: f.pick(['auto', 'pure-js']) } : f.options(valid, keys, (k) => loaderValue(f, k)));
        f.own(await decodeImage(source as never, options as never));
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('prepareImages: tensors of every rank, dtype and size, hostile options', async () => {
    const run = new FuzzRun('prepareImages', shared);
    const keys = ['imageSize', 'resize', 'preprocessing'];
    const valid = { imageSize: 4, resize: 'stretch', preprocessing: 'tf' };
    await run.control('two sizes', (f) => {
      const images = [f.own(tf.zeros([3, 5, 3])), f.own(tf.ones([6, 2, 3], 'int32'))] as tf.Tensor3D[];
      f.own(prepareImages(images, { imageSize: 4, resize: 'pad', preprocessing: 'caffe' }));
    });
    for (let i = 0; i < caseCount(60); i++) {
      await run.check('prepare', (f) => {
        const image = (): unknown =>
          f.chance(0.7) ? f.own(tf.randomUniform([1 + f.int(6), 1 + f.int(6), f.pick([3, 3, 1])], 0, 255, f.pick(['float32', 'int32'] as const))) : f.hostile();
        const images = f.chance(0.5) ? image() : Array.from({ length: f.int(4) }, image);
        f.note('images', images);
        const options = f.note('options', f.chance(0.3) ? valid : f.options(valid, keys, (k) => loaderValue(f, k)));
        f.own(prepareImages(images as never, options as never));
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });
});
