/**
 * Fuzz of the base and head entry points: `Wrapper` (over layers, graph, ONNX and spec bases), `unfreeze`,
 * `loadBase` (damaged model folders, IOHandlers, HTTP), `loadOnnxBase` (damaged ONNX bytes), the `applications`
 * builders and `loadNsfwBase`, each with hostile arguments and option values. The contract is in `harness.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applications, io, loadBase, loadOnnxBase, unfreeze, Wrapper, type BaseSpec } from '../../src';
import { loadNsfwBase } from '../../src/nsfwjs';
import { convertLayersModel } from '../../src/runtime/onnx/convert';
import { graphLike, tinyConvBnBase, tinyDenseBase } from '../fixtures/bases';
import { tempDir } from '../fixtures/images';
import { writeTinyGraphModel } from '../models/graph-fixture';
import { boundWaits, caseCount, FuzzRun, makeSharedHostiles, type Fuzzer, type SharedHostiles } from './harness';

let root: string;
let home: string;
let cleanup: () => Promise<void>;
let server: Server;
let origin: string;
let shared: SharedHostiles;
let modelJson: Record<string, unknown>;
let weights: Uint8Array;
let onnxBytes: Uint8Array;
let torchOnnx: Uint8Array;
let tinyH5: Uint8Array;
/** What `/case/*` answers for the current case (path -> bytes); a missing path gets a 404. */
let served: Record<string, Uint8Array> = {};

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('tlkit-fuzz-models-'));
  // Hostile strings make relative paths (a cache folder named 'file:'): keep them in the temporary folder.
  home = process.cwd();
  process.chdir(root);
  shared = makeSharedHostiles(() => tinyConvBnBase(), (base) => Wrapper(base));
  const base = tinyConvBnBase();
  await base.save(io.fileSaveHandler(join(root, 'tiny')));
  base.dispose();
  modelJson = JSON.parse(await readFile(join(root, 'tiny', 'model.json'), 'utf8')) as Record<string, unknown>;
  weights = new Uint8Array(await readFile(join(root, 'tiny', 'weights.bin')));
  await writeTinyGraphModel(join(root, 'graph'));
  const convertible = tinyConvBnBase({ seed: 9 });
  onnxBytes = (await convertLayersModel(convertible, { pooling: 'avg' })).bytes;
  convertible.dispose();
  torchOnnx = new Uint8Array(await readFile(fileURLToPath(new URL('../fixtures/onnx/tiny_cnn.onnx', import.meta.url))));
  tinyH5 = new Uint8Array(await readFile(fileURLToPath(new URL('../fixtures/keras/tiny.h5', import.meta.url))));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/stall')) return; // never answers
    if (url.pathname.startsWith('/redirect')) return res.writeHead(302, { location: 'http://127.0.0.2:9/elsewhere.bin' }).end();
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

/** A base of one of the four kinds, fresh for the case (the case frees it). */
async function someBase(f: Fuzzer): Promise<unknown> {
  switch (f.int(6)) {
    case 0:
    case 1:
      return f.own(tinyConvBnBase({ inputShape: f.pick([[8, 8, 3], [12, 10, 3]]) as [number, number, number] }));
    case 2: {
      const model = f.own(tinyConvBnBase());
      return graphLike(model);
    }
    case 3: {
      const spec = await loadBase(join(root, 'tiny'), { cutAt: 'relu1', name: 'tiny' });
      f.own(spec.model as tfl.LayersModel);
      return spec;
    }
    case 4:
      return loadOnnxBase(onnxBytes);
    default:
      return f.chance(0.5) ? f.own(tinyDenseBase()) : f.hostile();
  }
}

const WRAPPER_KEYS = ['numClasses', 'labelMode', 'pooling', 'dropout', 'hiddenUnits', 'cutAt', 'inputShape', 'outputNode', 'seed', 'engine', 'executionProviders'];

function wrapperValue(f: Fuzzer, key: string): unknown {
  switch (key) {
    case 'numClasses':
      return f.pick([1, 2, 3, 100_000, 100_001, 65_537]);
    case 'hiddenUnits':
      return f.pick([[4], [0], [65_536, 65_536], [1e9], [2, 2, 2], new Array(10_000).fill(1), ['4']]);
    case 'cutAt':
    case 'outputNode':
      return f.pick(['relu1', 'bn1', 'conv2', 'image', 'features', 'nope', 'tlkit_head']);
    case 'inputShape':
      return f.pick([[8, 8, 3], [16, 16, 3], [4, 4, 1], [8, 8, 4], [0, 8, 3], [9999, 9999, 3], [1, 1, 3], [8192, 8192, 3]]);
    case 'engine':
      return f.pick(['tfjs', 'onnxruntime', 'auto', 'wasm']);
    case 'executionProviders':
      return f.pick([['cpu'], ['cuda'], [42], new Array(17).fill('cpu'), [Symbol('ep')]]);
    case 'dropout':
      return f.pick([0, 0.5, 0.999, 1, -0.1]);
    default:
      return f.number();
  }
}

describe('fuzz: bases and heads', () => {
  it('Wrapper over every kind of base, with hostile options; the model it returns predicts', async () => {
    const run = new FuzzRun('Wrapper', shared);
    await run.control('spec', async (f) => {
      const spec = await loadBase(join(root, 'tiny'), { cutAt: 'relu1' });
      f.own(spec.model as tfl.LayersModel);
      f.own(Wrapper(spec, { numClasses: 3, hiddenUnits: [4], dropout: 0.2 }));
      f.own(Wrapper(await loadOnnxBase(onnxBytes), { engine: 'onnxruntime' }));
    });
    for (let i = 0; i < caseCount(50); i++) {
      await run.check('wrap', async (f) => {
        const base = f.note('base', await someBase(f));
        const valid = { numClasses: 3, seed: 1 };
        const options = f.note('options', f.chance(0.25) ? valid : f.options(valid, WRAPPER_KEYS, (k) => wrapperValue(f, k)));
        const model = f.own(Wrapper(base as never, options as never));
        // (model.predict is tfjs's, and tfjs-layers keeps one tensor per model that ever predicted: the pipeline
        // fuzz runs Wrapper models through tl-kit's calls instead.)
        const o = (options ?? {}) as { numClasses?: number; labelMode?: string };
        const units = o.labelMode === 'categorical' || (o.numClasses ?? 2) !== 2 ? (o.numClasses ?? 2) : 1;
        expect(model.outputs[0]?.shape).toEqual([null, units]);
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('unfreeze with hostile models and options', async () => {
    const run = new FuzzRun('unfreeze', shared);
    await run.control('topLayers', (f) => unfreeze(f.own(Wrapper(f.own(tinyConvBnBase()))), { topLayers: 3 }));
    for (let i = 0; i < caseCount(40); i++) {
      await run.check('unfreeze', async (f) => {
        const model = f.chance(0.8) ? f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: 2 })) : f.hostile();
        const valid = f.pick([{ topLayers: 2 }, { fromLayer: 'conv2' }]);
        const options = f.note('options', f.chance(0.2) ? valid : f.options(valid, ['topLayers', 'fromLayer'], (k) => (k === 'topLayers' ? f.number() : f.pick(['conv1', 'relu2', 'nope', '']))));
        unfreeze(model as never, options as never);
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('loadBase: damaged model.json and weights, hostile sources, IOHandlers and options', async () => {
    const run = new FuzzRun('loadBase', shared);
    await run.control('folder, URL, graph', async (f) => {
      served = { '/case/model.json': new TextEncoder().encode(JSON.stringify(modelJson)), '/case/weights.bin': weights };
      f.own((await loadBase(join(root, 'tiny'))).model as tfl.LayersModel);
      f.own((await loadBase(`${origin}/case/model.json`, { cacheDir: false })).model as tfl.LayersModel);
      f.own((await loadBase(join(root, 'graph'))).model as { dispose(): void });
    });
    const keys = ['inputShape', 'preprocessing', 'cutAt', 'outputNode', 'name', 'format', 'cacheDir', 'fetch', 'onProgress', 'timeoutMs', 'allowedOrigins', 'loadGraphModel'];
    for (let i = 0; i < caseCount(40); i++) {
      await run.check('load', async (f) => {
        const dir = join(root, `base-${i}`);
        await mkdir(dir, { recursive: true });
        const json = f.chance(0.5) ? modelJson : f.json(modelJson, 3);
        const text = f.chance(0.9) ? JSON.stringify(json) : new TextDecoder().decode(f.bytes(new TextEncoder().encode(JSON.stringify(modelJson))));
        const bin = f.chance(0.5) ? weights : f.bytes(weights);
        f.note('weights', bin);
        await writeFile(join(dir, 'model.json'), text);
        await writeFile(join(dir, 'weights.bin'), bin);
        served = { '/case/model.json': new TextEncoder().encode(text), '/case/weights.bin': bin };
        const source = f.note(
          'source',
          ((): unknown => {
            switch (f.int(9)) {
              case 0:
                return dir;
              case 1:
                return join(dir, 'model.json');
              case 2:
                return pathToFileURL(join(dir, 'model.json')).href;
              case 3:
                return `${origin}/case/model.json`;
              case 4:
                return f.pick([`${origin}/stall/model.json`, `${origin}/redirect/model.json`, `${origin}/missing/model.json`]);
              case 5:
                return join(root, 'graph');
              case 6:
                return { load: f.callback('awaited') };
              case 7:
                return io.fileLoadHandler(join(dir, 'model.json'));
              default:
                return f.hostile();
            }
          })(),
        );
        const valid = { cacheDir: false, timeoutMs: 1000 };
        const options = f.note('options', boundWaits(f.chance(0.4) ? valid : f.options(valid, keys, (k) => (k === 'timeoutMs' ? f.pick([1, 500, 1e9, 0]) : k === 'fetch' ? f.callback('any') : f.hostile()))));
        const spec = (await loadBase(source as string, options as never)) as BaseSpec;
        f.own(spec.model as tfl.LayersModel);
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('loadOnnxBase: damaged ONNX bytes, hostile sources and options', async () => {
    const run = new FuzzRun('loadOnnxBase', shared);
    await run.control('bytes and torch', async () => {
      await loadOnnxBase(onnxBytes);
      await loadOnnxBase(torchOnnx, { inputShape: [32, 32, 3] });
    });
    const keys = ['inputShape', 'layout', 'outputName', 'preprocessing', 'name', 'cacheDir', 'fetch', 'onProgress', 'maxBytes', 'timeoutMs'];
    for (let i = 0; i < caseCount(40); i++) {
      await run.check('onnx', async (f) => {
        const valid = f.pick([onnxBytes, torchOnnx]);
        const bytes = f.note('bytes', f.chance(0.3) ? valid : f.bytes(valid));
        const path = join(root, `model-${i}.onnx`);
        await writeFile(path, bytes);
        served = { '/case/model.onnx': bytes };
        const source = f.note('source', f.pick<unknown>([bytes, bytes, path, pathToFileURL(path).href, `${origin}/case/model.onnx`, `${origin}/stall/model.onnx`, bytes.buffer, f.hostile()]));
        const base = { inputShape: [32, 32, 3], cacheDir: false, timeoutMs: 500 };
        const pool = (k: string): unknown =>
          k === 'inputShape' ? f.pick([[8, 8, 3], [32, 32, 1], [3, 32, 32], [0, 0, 3], [8193, 8, 3]]) : k === 'fetch' ? f.callback('any') : k === 'layout' ? f.pick(['NCHW', 'NHWC', 'nchw']) : k === 'outputName' ? f.pick(['features', 'feature_map', 'nope']) : f.number();
        const options = f.note('options', boundWaits(f.chance(0.4) ? base : f.options(base, keys, pool), 500));
        await loadOnnxBase(source as Uint8Array, options as never);
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('applications builders with hostile options and damaged weight files', async () => {
    const run = new FuzzRun('applications', shared);
    await run.control('MobileNetV2', async (f) => {
      f.own(await applications.MobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], includeTop: false, weights: null, pooling: 'avg' }));
    }, { timeoutMs: 10_000 });
    const keys = ['includeTop', 'weights', 'inputShape', 'pooling', 'classes', 'classifierActivation', 'cacheDir', 'alpha'];
    for (let i = 0; i < caseCount(16); i++) {
      await run.check('MobileNetV2', async (f) => {
        // Small enough to build in well under a second; the hostile values never name 'imagenet' (no download).
        const valid = { alpha: 0.35, inputShape: [32, 32, 3], includeTop: false, weights: null };
        const options = f.note(
          'options',
          f.chance(0.2)
            ? valid
            : f.options(valid, keys, (k) => {
                if (k === 'weights') return f.chance(0.5) ? f.bytes(tinyH5) : join(root, 'missing.h5');
                if (k === 'inputShape') return f.pick([[31, 32, 3], [32, 32, 1], [8193, 32, 3], [32, 40, 3]]);
                if (k === 'alpha') return f.pick([0.35, 0.5, 5, 1e6, 0]);
                return f.number();
              }),
        );
        if (typeof options === 'object' && options !== null && ('includeTop' in options || 'alpha' in options)) {
          // A valid mutation may ask for a much larger network: keep the case small.
          const o = options as { includeTop?: unknown; alpha?: unknown };
          if (typeof o.alpha === 'number' && o.alpha > 0.5 && o.alpha <= 4) return;
        }
        f.own(await applications.MobileNetV2(options as never));
      }, { timeoutMs: 10_000 });
    }
    for (let i = 0; i < caseCount(10); i++) {
      const name = run.fuzzer.pick(['VGG16', 'InceptionV3', 'ResNet50V2', 'ResNet101V2'] as const);
      await run.check(name, async (f) => {
        // These build tens of millions of weights when valid: only options that one check or another refuses.
        const invalid = f.pick([{ classes: 0 }, { inputShape: [8, 8, 3] }, { pooling: 'sum' }, { classifierActivation: 'relu' }]);
        const options = f.note('options', { ...(f.options(invalid, keys) as object), ...invalid });
        f.own(await applications[name](options as never));
      });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.resolved).toBeGreaterThan(0);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('loadNsfwBase with hostile names and options', async () => {
    const run = new FuzzRun('loadNsfwBase', shared);
    await run.control('mobilenet_v2', async (f) => f.own((await loadNsfwBase('mobilenet_v2')).model as tfl.LayersModel), { timeoutMs: 15_000 });
    for (let i = 0; i < caseCount(8); i++) {
      await run.check('nsfw', async (f) => {
        const name = f.note('name', f.chance(0.5) ? 'mobilenet_v2' : f.chance(0.3) ? f.pick(['mobilenet_v2_mid', 'inception_v3', '__proto__', 'toString']) : f.hostile());
        if (name === 'inception_v3' || name === 'mobilenet_v2_mid') return; // 22 MB and 5.6 MB: too slow per case
        const valid = { cutAt: 'out_relu' };
        const options = f.note('options', f.chance(0.3) ? valid : f.options(valid, ['cutAt', 'inputShape', 'loadGraphModel'], (k) => (k === 'cutAt' ? f.pick(['block_16_project', 'input_1', 'nope']) : f.hostile())));
        const spec = await loadNsfwBase(name as 'mobilenet_v2', options as never);
        f.own(spec.model as tfl.LayersModel);
      }, { timeoutMs: 15_000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });
});
