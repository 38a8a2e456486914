import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSaveHandler } from '../../src/io/file-handler';
import { loadBase } from '../../src/models/load-base';
import { KNOWN_BASES } from '../../src/models/registry';
import { Wrapper } from '../../src/models/wrapper';
import type { GraphModelLike } from '../../src/models/base-spec';
import { describeWrapper } from '../../src/models/wrapper-view';
import { randomImages, tinyDagBase } from '../fixtures/bases';
import { graphKernel, writeTinyGraphModel } from './graph-fixture';

let root: string;
let layersJson: string;
let graphJson: string;
let server: Server;
let origin: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-loadbase-'));
  const base = tinyDagBase();
  await base.save(fileSaveHandler(join(root, 'dag')));
  base.dispose();
  layersJson = join(root, 'dag', 'model.json');
  graphJson = await writeTinyGraphModel(join(root, 'graph'));
  server = createServer(async (req, res) => {
    const file = join(root, (req.url ?? '/').replace(/^\/+/, ''));
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('loadBase', () => {
  it('loads a layers model from a path with a default cut layer, ready for Wrapper', async () => {
    const before = tf.memory().numTensors;
    const spec = await loadBase(layersJson, { cutAt: 'relu_stem', preprocessing: 'unit' });
    expect(spec).toMatchObject({
      kind: 'tl-kit-base',
      name: layersJson,
      inputShape: [8, 8, 3],
      preprocessing: 'unit',
      cutAt: 'relu_stem',
    });
    const model = Wrapper(spec, { numClasses: 3 });
    const parts = describeWrapper(model)!;
    expect(parts.baseLayers.map((l) => l.name)).toEqual(['stem', 'bn_stem', 'relu_stem']);
    expect(parts.preprocessing).toBe('unit');
    tf.dispose(tf.tidy(() => model.predict(randomImages(1))));
    model.dispose(); // frees the head; the base stays the caller's
    (spec.model as tfl.LayersModel).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads the same model from file:// and http:// URLs and from an IOHandler', async () => {
    const fromFile = await loadBase(pathToFileURL(layersJson).href);
    const fromHttp = await loadBase(`${origin}/dag/model.json`, { cacheDir: false, name: 'dag' });
    expect(fromHttp.name).toBe('dag');
    const artifacts = await (await import('../../src/io/file-handler')).fileLoadHandler(layersJson).load!();
    const fromHandler = await loadBase(tf.io.fromMemory(artifacts));
    expect(fromHandler.name).toBe('IOHandler');
    const images = randomImages(2);
    const outs = [fromFile, fromHttp, fromHandler].map((s) => (s.model as tfl.LayersModel).predict(images) as tf.Tensor);
    expect(Array.from(outs[1]!.dataSync())).toEqual(Array.from(outs[0]!.dataSync()));
    expect(Array.from(outs[2]!.dataSync())).toEqual(Array.from(outs[0]!.dataSync()));
    tf.dispose([images, ...outs]);
    [fromFile, fromHttp, fromHandler].forEach((s) => (s.model as tfl.LayersModel).dispose());
  });

  it('loads a graph model with tfjs-converter and wraps it as a frozen feature extractor', async () => {
    const spec = await loadBase(graphJson, { preprocessing: 'unit' });
    expect(spec.inputShape).toEqual([8, 8, 3]);
    expect(spec.model).not.toBeInstanceOf(tfl.LayersModel);
    const model = Wrapper(spec);
    const parts = describeWrapper(model)!;
    expect(parts.featureSize).toBe(4);
    expect(parts.base.kind).toBe('graph');
    // Features equal a direct computation of relu(conv(x, w)) averaged over space.
    const images = randomImages(2);
    const features = tf.tidy(() => parts.pool(parts.runBase(images)));
    const direct = tf.tidy(() =>
      tf.mean(tf.relu(tf.conv2d(images, tf.tensor4d(graphKernel(), [3, 3, 3, 4]), 1, 'same')), [1, 2]),
    );
    const a = features.dataSync();
    const b = direct.dataSync();
    b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 5));
    // The wrapper trains its head over the graph base.
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'binaryCrossentropy' });
    const ys = tf.tensor2d([[0], [1]]);
    await model.fit(images, ys, { epochs: 1, verbose: 0 });
    tf.dispose([images, features, direct, ys]);
    model.dispose();
    (spec.model as unknown as { dispose(): void }).dispose();
  });

  it("builds a graph model with the caller's loadGraphModel (how a browser bundle passes tfjs-converter)", async () => {
    const converter = await import('@tensorflow/tfjs-converter');
    const handlers: tf.io.IOHandler[] = [];
    const spec = await loadBase(graphJson, {
      preprocessing: 'unit',
      loadGraphModel: async (handler) => {
        handlers.push(handler);
        return converter.loadGraphModel(handler) as unknown as GraphModelLike;
      },
    });
    expect(handlers).toHaveLength(1);
    expect(spec.inputShape).toEqual([8, 8, 3]);
    (spec.model as unknown as { dispose(): void }).dispose();
  });

  it('names loadBase and the underlying reason when a model file cannot be read', async () => {
    await expect(loadBase('./no/such/folder/model.json')).rejects.toThrow(
      /^loadBase: cannot read model file \.\/no\/such\/folder\/model\.json \(ENOENT: no such file or directory/,
    );
  });

  it('refuses unknown names, bad options and a cutAt the model lacks', async () => {
    await expect(loadBase('mobilenet_v3')).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadBase: source must be a known base name (closest: mobilenet_v2, mobilenet_v2_0.35, mobilenet_v1_1.0), a URL or a path, got "mobilenet_v3"]`);
    await expect(loadBase(layersJson, { cutAt: 'relu_a2' })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadBase: cutAt must be the name of a layer of the model (closest: relu_a, relu_stem, conv_a, bn_a, pad), got "relu_a2"]`);
    await expect(loadBase(layersJson, { inputShape: [8, 8] as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadBase: inputShape must be [height, width, channels] of positive integers, got [8, 8]]`);
    await expect(loadBase(layersJson, { cutAt: 5 as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadBase: cutAt must be a non-empty string, got 5]`);
    await expect(loadBase(layersJson, { name: {} as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadBase: name must be a non-empty string, got {}]`);
    // An IOHandler whose load() gives nothing was a raw TypeError.
    await expect(loadBase({ load: async () => undefined as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[LoadError: loadBase: the IOHandler's load() returned undefined, not model artifacts]`);
    await expect(loadBase('mobilenet_v2', { cacheDir: 5 as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadBase: cacheDir must be a folder path or false, got 5]`);
    await expect(loadBase('ftp://example.com/model.json')).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });

  it('has a registry of well-known bases with official URLs', () => {
    const names = KNOWN_BASES.map((b) => b.name);
    expect(names).toContain('mobilenet_v2');
    expect(names).toContain('tfhub_inception_v3');
    for (const b of KNOWN_BASES) expect(b.url).toMatch(/^https:\/\/(storage\.googleapis\.com|tfhub\.dev)\//);
    expect(Object.isFrozen(KNOWN_BASES[0])).toBe(true);
  });
});
