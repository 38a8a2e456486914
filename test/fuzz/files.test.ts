/**
 * Fuzz of the model-file entry points: `loadKerasModel` and `loadKerasWeights` (damaged `.keras`, `.h5` and weight
 * files from paths, bytes and a local server), the `io` handlers (damaged model folders and downloads, hostile
 * artifacts to save), `saveClassifier` (hostile data descriptions and destinations) and `loadClassifier` with its
 * `predict` (damaged saved classifiers on layers and ONNX bases, hostile images). The contract is in `harness.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, loadClassifier, loadKerasModel, loadKerasWeights, loadOnnxBase, saveClassifier, Wrapper } from '../../src';
import { convertLayersModel } from '../../src/runtime/onnx/convert';
import { tinyConvBnBase } from '../fixtures/bases';
import { png, tempDir } from '../fixtures/images';
import { fixture, tinyTwin } from '../keras/helpers';
import { boundWaits, caseCount, FuzzRun, makeSharedHostiles, type Fuzzer, type SharedHostiles } from './harness';

let root: string;
let home: string;
let cleanup: () => Promise<void>;
let server: Server;
let origin: string;
let shared: SharedHostiles;
let keras: Record<string, Uint8Array>;
let validPng: Uint8Array;
/** Saved classifiers, file name -> bytes: one on a layers base, one on an ONNX base. */
let classifiers: Record<'layers' | 'onnx', Record<string, Uint8Array>>;
/** What `/case/*` answers for the current case; `/stall/*` never answers; a missing path is a 404. */
let served: Record<string, Uint8Array> = {};

const DATA_INFO = { labelNames: ['red', 'green', 'blue'], labelMode: 'categorical', imageSize: [8, 8], preprocessing: 'unit', resize: 'stretch' } as const;

async function readFolder(dir: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const name of await readdir(dir)) out[name] = new Uint8Array(await readFile(join(dir, name)));
  return out;
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('tlkit-fuzz-files-'));
  // Hostile strings make relative paths: keep them in the temporary folder.
  home = process.cwd();
  process.chdir(root);
  shared = makeSharedHostiles(() => tinyConvBnBase(), (base) => Wrapper(base));
  keras = {};
  for (const name of ['tiny.keras', 'tiny.h5', 'tiny_seq.keras', 'nested.keras', 'tiny.keras1.weights.h5', 'tiny.legacy.weights.h5']) {
    keras[name] = new Uint8Array(await readFile(fixture(name)));
  }
  validPng = new Uint8Array(await png(8, 8, (x, y) => [x * 30, y * 30, 90]));
  const base = tinyConvBnBase();
  const layersModel = Wrapper(base, { numClasses: 3 });
  await saveClassifier(layersModel, DATA_INFO, join(root, 'saved-layers'));
  layersModel.dispose();
  base.dispose();
  const convertible = tinyConvBnBase({ seed: 4 });
  const onnx = await loadOnnxBase((await convertLayersModel(convertible, { pooling: 'avg' })).bytes, { preprocessing: 'unit' });
  convertible.dispose();
  const onnxModel = Wrapper(onnx, { numClasses: 3 });
  await saveClassifier(onnxModel, DATA_INFO, join(root, 'saved-onnx'));
  onnxModel.dispose();
  classifiers = { layers: await readFolder(join(root, 'saved-layers')), onnx: await readFolder(join(root, 'saved-onnx')) };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/stall')) return; // never answers
    if (req.method !== 'GET') return req.resume().on('end', () => res.writeHead(200).end('{}'));
    const body = served[url.pathname];
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  process.chdir(home);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await cleanup();
});

let folders = 0;

/** A fresh folder under the temporary root. */
async function freshDir(): Promise<string> {
  const dir = join(root, 'cases', `c${folders++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** `files` with each file kept, damaged (bytes or, for JSON, one value) or left out; written to a fresh folder. */
async function damagedFolder(f: Fuzzer, files: Record<string, Uint8Array>): Promise<{ dir: string; files: Record<string, Uint8Array> }> {
  const dir = await freshDir();
  const out: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(files)) {
    const roll = f.int(10);
    if (roll === 0) continue;
    let content = bytes;
    if (roll <= 3 && name.endsWith('.json')) {
      content = new TextEncoder().encode(JSON.stringify(f.json(JSON.parse(new TextDecoder().decode(bytes)), 3)));
    } else if (roll <= 5) {
      content = f.bytes(bytes);
      f.note('damaged', name);
    }
    out[name] = content;
    await writeFile(join(dir, name), content);
  }
  return { dir, files: out };
}

/** A source for a Keras file: bytes, a path, a file:// URL, an http URL on the local server, or a hostile value. */
async function kerasSource(f: Fuzzer, bytes: Uint8Array, name: string): Promise<unknown> {
  const dir = await freshDir();
  const path = join(dir, name);
  await writeFile(path, bytes);
  served = { [`/case/${name}`]: bytes };
  switch (f.int(8)) {
    case 0:
    case 1:
      return bytes;
    case 2:
      return bytes.slice().buffer;
    case 3:
      return path;
    case 4:
      return pathToFileURL(path);
    case 5:
      return `${origin}/case/${name}`;
    case 6:
      return f.pick([`${origin}/stall/${name}`, `${origin}/missing/${name}`]);
    default:
      return f.hostile();
  }
}

describe('fuzz: model files', () => {
  it('loadKerasModel: damaged .keras and .h5 files from every kind of source, hostile options', async () => {
    const run = new FuzzRun('loadKerasModel', shared);
    await run.control('tiny.keras and tiny.h5', async (f) => {
      f.own(await loadKerasModel(keras['tiny.keras'] as Uint8Array));
      f.own(await loadKerasModel(fixture('tiny.h5'), { skipWeights: true }));
    });
    for (let i = 0; i < caseCount(30); i++) {
      await run.check('model', async (f) => {
        const name = f.pick(['tiny.keras', 'tiny.h5', 'tiny_seq.keras', 'nested.keras']);
        const valid = keras[name] as Uint8Array;
        const bytes = f.chance(0.3) ? valid : f.bytes(valid);
        f.note('file', `${name} ${bytes === valid ? 'valid' : `${bytes.length} bytes`}`);
        const source = f.note('source', await kerasSource(f, bytes, name));
        const base = { timeoutMs: 500 };
        const options = f.note('options', boundWaits(f.chance(0.5) ? base : f.options(base, ['skipWeights', 'maxBytes', 'timeoutMs'], (k) => (k === 'maxBytes' ? f.pick([1, 100, 4096, 2 ** 31, 2 ** 53]) : f.number()))));
        f.own(await loadKerasModel(source as Uint8Array, options as never));
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('loadKerasWeights: damaged weight files into fitting and unfitting models, hostile options', async () => {
    const run = new FuzzRun('loadKerasWeights', shared);
    await run.control('keras 3 and legacy', async (f) => {
      await loadKerasWeights(f.own(tinyTwin()), keras['tiny.keras1.weights.h5'] as Uint8Array);
      await loadKerasWeights(f.own(tinyTwin()), keras['tiny.legacy.weights.h5'] as Uint8Array, { match: 'name' });
    });
    for (let i = 0; i < caseCount(30); i++) {
      await run.check('weights', async (f) => {
        const name = f.pick(['tiny.keras1.weights.h5', 'tiny.legacy.weights.h5', 'tiny.keras', 'tiny.h5']);
        const valid = keras[name] as Uint8Array;
        const bytes = f.chance(0.3) ? valid : f.bytes(valid);
        f.note('file', `${name} ${bytes === valid ? 'valid' : `${bytes.length} bytes`}`);
        const model = f.note('model', f.chance(0.6) ? f.own(tinyTwin()) : f.chance(0.5) ? f.own(tinyTwin((n) => `${n}_renamed`, 5)) : f.chance(0.5) ? f.own(tinyConvBnBase()) : f.tensorish());
        const source = f.note('source', await kerasSource(f, bytes, name));
        const base = { timeoutMs: 500 };
        const options = f.note('options', boundWaits(f.chance(0.5) ? base : f.options(base, ['match', 'maxBytes', 'timeoutMs'], (k) => (k === 'match' ? f.pick(['auto', 'name', 'order', 'position']) : f.number()))));
        await loadKerasWeights(model as tfl.LayersModel, source as Uint8Array, options as never);
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('io handlers: damaged model folders and downloads, hostile artifacts to save', async () => {
    const run = new FuzzRun('io', shared);
    const layersFiles = classifiers.layers;
    const good = await io.fileLoadHandler(join(root, 'saved-layers')).load!();
    await run.control('save and load', async () => {
      const dir = join(await freshDir(), 'model');
      served = { '/case/model.json': layersFiles['model.json'] as Uint8Array, '/case/weights.bin': layersFiles['weights.bin'] as Uint8Array };
      const handler = io.fileSaveHandler(dir, { extraFiles: [{ name: 'labels.txt', data: 'a\nb\n' }] });
      const artifacts = await io.fileLoadHandler(join(root, 'saved-layers')).load!();
      await handler.save!(artifacts);
      await io.fileLoadHandler(dir).load!();
      await io.httpLoadHandler(`${origin}/case/model.json`, { cacheDir: false }).load!();
    });
    for (let i = 0; i < caseCount(45); i++) {
      const kind = run.fuzzer.pick(['fileLoadHandler', 'fileSaveHandler', 'httpLoadHandler'] as const);
      await run.check(kind, async (f) => {
        if (kind === 'fileLoadHandler') {
          const { dir } = await damagedFolder(f, { 'model.json': layersFiles['model.json'] as Uint8Array, 'weights.bin': layersFiles['weights.bin'] as Uint8Array });
          const path = f.note('path', f.pick<unknown>([dir, join(dir, 'model.json'), pathToFileURL(join(dir, 'model.json')).href, `file://${join(dir, 'model.json')}`, f.hostile()]));
          await io.fileLoadHandler(path as string).load!();
        } else if (kind === 'httpLoadHandler') {
          const { files } = await damagedFolder(f, { 'model.json': layersFiles['model.json'] as Uint8Array, 'weights.bin': layersFiles['weights.bin'] as Uint8Array });
          served = Object.fromEntries(Object.entries(files).map(([name, bytes]) => [`/case/${name}`, bytes]));
          const url = f.note('url', f.pick<unknown>([`${origin}/case/model.json`, `${origin}/case/model.json`, `${origin}/stall/model.json`, `${origin}/case/`, f.hostile()]));
          const valid = { cacheDir: join(root, 'cache'), timeoutMs: 500 };
          const options = f.note('options', boundWaits(f.chance(0.5) ? valid : f.options(valid, ['cacheDir', 'fetch', 'onProgress', 'timeoutMs', 'allowedOrigins'], (k) => (k === 'cacheDir' ? f.pick([false, join(root, 'cache2'), '']) : k === 'allowedOrigins' ? f.pick([[origin], ['*'], ['http://'], [origin, 'ftp://x']]) : k === 'fetch' ? f.callback('any') : f.hostile()))));
          await io.httpLoadHandler(url as string, options as never).load!();
        } else {
          const dir = await freshDir();
          const dest = f.note('dest', f.chance(0.85) ? join(dir, f.pick(['model', 'a/b/c', 'é🙂', 'x'.repeat(300), '.', 'model.json', 'with space'])) : f.hostile());
          const extra = f.chance(0.7) ? [] : f.pick<unknown>([[{ name: '../escape.txt', data: 'x' }], [{ name: 'model.json', data: 'x' }], [{ name: 'ok.txt', data: f.hostile() }], [{ name: f.hostile(), data: 'x' }], f.hostile()]);
          const options = f.note('options', f.chance(0.8) ? { extraFiles: extra } : f.hostile());
          const artifacts = f.note('artifacts', f.chance(0.4) ? good : f.chance(0.7) ? { ...good, ...(f.json({ modelTopology: good.modelTopology, weightSpecs: good.weightSpecs }) as object), weightData: f.chance(0.5) ? good.weightData : f.bytes().buffer } : f.hostile());
          await io.fileSaveHandler(dest as string, options as never).save!(artifacts as tf.io.ModelArtifacts);
        }
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('saveClassifier: hostile models, data descriptions, destinations and options', async () => {
    const run = new FuzzRun('saveClassifier', shared);
    await run.control('layers', async (f) => {
      await saveClassifier(f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: 3 })), DATA_INFO, join(await freshDir(), 'ok'), { baseName: 'tiny' });
    });
    const dataKeys = ['labelNames', 'labelMode', 'imageSize', 'preprocessing', 'resize'];
    for (let i = 0; i < caseCount(30); i++) {
      await run.check('save', async (f) => {
        const model = f.note('model', f.chance(0.8) ? f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: f.pick([3, 3, 2]) })) : f.tensorish());
        const data = f.note('data', f.chance(0.4) ? DATA_INFO : f.options(DATA_INFO, dataKeys, (k) => (k === 'labelNames' ? f.pick([['a', 'a', 'b'], ['a', 'b'], ['', 'b', 'c'], ['__proto__', 'b', 'c'], [1, 2, 3]]) : k === 'imageSize' ? f.pick([[8, 8], [4, 4], 8, [8, 8, 3]]) : f.hostile())));
        const dir = await freshDir();
        const dest = f.note('dest', f.chance(0.85) ? join(dir, f.pick(['cls', 'a/b', 'é🙂', '.', 'x'.repeat(300)])) : f.chance(0.5) ? f.pick([`${origin}/upload`, `${origin}/stall/upload`, 'indexeddb://x', 'localstorage://x']) : f.hostile());
        const options = f.note('options', boundWaits(f.chance(0.6) ? {} : f.options({ baseName: 'tiny', timeoutMs: 500 }, ['baseName', 'metrics', 'timeoutMs'], (k) => (k === 'metrics' ? f.pick([{ accuracy: 2 }, { split: 'test', accuracy: NaN, exampleCount: -1 }, {}]) : f.hostile())), 500));
        await saveClassifier(model as tfl.LayersModel, data as never, dest as string, options as never);
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it("loadClassifier and the classifier's predict: damaged saved classifiers, hostile images and options", async () => {
    const run = new FuzzRun('loadClassifier', shared);
    await run.control('layers and onnx', async (f) => {
      for (const dir of ['saved-layers', 'saved-onnx']) {
        const classifier = f.own(await loadClassifier(join(root, dir)));
        await classifier.predict(validPng);
      }
    });
    for (let i = 0; i < caseCount(40); i++) {
      await run.check('load', async (f) => {
        const kind = f.pick(['layers', 'onnx'] as const);
        const { dir, files } = await damagedFolder(f, classifiers[kind]);
        served = Object.fromEntries(Object.entries(files).map(([name, bytes]) => [`/case/${name}`, bytes]));
        const src = f.note('src', f.chance(0.9) ? f.pick([dir, join(dir, 'model.json'), pathToFileURL(dir).href, `${origin}/case/model.json`]) : f.hostile());
        const valid = { engine: f.pick(['tfjs', 'onnxruntime', 'auto']) };
        const options = f.note('options', f.chance(0.6) ? valid : f.options(valid, ['fetch', 'engine', 'executionProviders'], (k) => (k === 'engine' ? f.pick(['tfjs', 'onnxruntime', 'wasm']) : k === 'executionProviders' ? f.pick([['cpu'], ['cuda'], [], [7]]) : k === 'fetch' ? f.callback('awaited') : f.hostile())));
        const classifier = f.own(await loadClassifier(src as string, options as never));
        for (let p = f.int(3); p > 0; p--) {
          const image = f.note('image', f.pick<unknown>([validPng, f.bytes(validPng), f.own(tf.fill([8, 8, 3], 9, 'int32')), f.own(tf.zeros([2, 8, 8, 3])), { data: new Uint8Array(12), width: 2, height: 2, channels: 3 }, f.hostile()]));
          if (f.chance(0.1)) await classifier.dispose();
          await classifier.predict(image as Uint8Array);
        }
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });
});
