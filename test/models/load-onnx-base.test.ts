/**
 * loadOnnxBase from bytes, paths, file:// URLs and a local HTTP server (with the model cache), on tl-kit's own
 * conversions (NHWC) and the committed torch fixture (NCHW, symbolic size, two outputs); and what it refuses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/progress';
import { loadOnnxBase } from '../../src/models/load-onnx-base';
import { isOnnxBaseModel } from '../../src/runtime/onnx/base-model';
import { convertLayersModel } from '../../src/runtime/onnx/convert';
import { createOnnxSession } from '../../src/runtime/onnx/session';
import { randomImages, tinyConvBnBase } from '../fixtures/bases';
import { relativeDiff } from '../runtime/onnx/helpers';

const torchPath = fileURLToPath(new URL('../fixtures/onnx/tiny_cnn.onnx', import.meta.url));
let root: string;
let tinyPath: string;
let tinyBytes: Uint8Array;
let torchBytes: Buffer;
let server: Server;
let origin: string;
const requests: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-onnx-base-'));
  const conversion = await convertLayersModel(tinyConvBnBase({ inputShape: [12, 10, 3], seed: 5 }), { pooling: 'avg' });
  tinyBytes = conversion.bytes;
  tinyPath = join(root, 'tiny.onnx');
  await writeFile(tinyPath, tinyBytes);
  torchBytes = await readFile(torchPath);
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    const send = (body: Uint8Array, headers: Record<string, string | number> = {}) =>
      res.writeHead(200, { 'content-length': body.length, ...headers }).end(body);
    switch (url.pathname) {
      case '/models/tiny_cnn.onnx':
        return send(torchBytes);
      case '/error-page.onnx':
        return send(new TextEncoder().encode('<html>not here</html>'));
      case '/truncated.onnx':
        res.writeHead(200, { 'content-length': torchBytes.length });
        res.write(torchBytes.subarray(0, 100));
        setTimeout(() => res.destroy(), 20);
        return;
      case '/silent.onnx':
        res.writeHead(200, { 'content-length': torchBytes.length });
        res.write(torchBytes.subarray(0, 10)); // then nothing: the download must give up
        return;
      default:
        res.writeHead(404, 'Not Found').end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('loadOnnxBase', () => {
  it("describes tl-kit's own conversion read from a path, a file:// URL, bytes or an ArrayBuffer", async () => {
    for (const source of [tinyPath, pathToFileURL(tinyPath).href, tinyBytes, new Uint8Array(tinyBytes).buffer]) {
      const spec = await loadOnnxBase(source);
      expect(spec).toMatchObject({
        kind: 'tl-kit-base',
        name: typeof source === 'string' ? 'tiny.onnx' : 'onnx',
        inputShape: [12, 10, 3],
        preprocessing: 'torch',
      });
      expect(isOnnxBaseModel(spec.model)).toBe(true);
      expect(spec.model).toMatchObject({ kind: 'onnx', inputName: 'input', outputName: 'features', layout: 'NHWC', outputShape: [null, 8] });
      expect(spec.model.bytes.byteLength).toBe(tinyBytes.byteLength);
    }
    const named = await loadOnnxBase(tinyPath, { name: 'mine', preprocessing: 'unit' });
    expect(named).toMatchObject({ name: 'mine', preprocessing: 'unit' });
  });

  it('gives a base whose session reproduces the tfjs model', async () => {
    const model = tinyConvBnBase({ inputShape: [12, 10, 3], seed: 5 });
    const spec = await loadOnnxBase(tinyPath);
    const session = await createOnnxSession('test', spec.model.bytes, {
      layout: spec.model.layout,
      inputName: spec.model.inputName,
      outputName: spec.model.outputName,
      intraOpNumThreads: 1,
    });
    const x = randomImages(2, [12, 10, 3], 9);
    const expected = tf.tidy(() => tf.mean(model.predict(x) as tf.Tensor, [1, 2]));
    const out = await session.run(x.dataSync() as Float32Array, x.shape);
    expect(out.shape).toEqual([2, 8]);
    expect(relativeDiff(out.data, expected.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, expected]);
    model.dispose();
    await session.release();
  });

  it('reads the torch fixture: NCHW detected, the size to feed required, a rank-4 output found by one run', async () => {
    await expect(loadOnnxBase(torchPath)).rejects.toThrow(
      /^loadOnnxBase: inputShape must be given, because .*tiny_cnn\.onnx's input \[\?, 3, \?, \?\] leaves its size free, got undefined$/,
    );
    const spec = await loadOnnxBase(torchPath, { inputShape: [32, 32, 3] });
    expect(spec.model).toMatchObject({ inputName: 'pixels', outputName: 'features', layout: 'NCHW', inputShape: [32, 32, 3], outputShape: [null, 16] });
    const maps = await loadOnnxBase(torchPath, { inputShape: [40, 24, 3], outputName: 'feature_map' });
    expect(maps.model.outputShape).toEqual([null, 10, 6, 16]);
    await expect(loadOnnxBase(torchPath, { inputShape: [32, 32, 4] })).rejects.toThrow(
      /^loadOnnxBase: inputShape must be \[any, any, 3\] \(\[height, width, channels\]\), as .* NCHW input \[\?, 3, \?, \?\] declares, got \[32, 32, 4\]$/,
    );
    await expect(loadOnnxBase(torchPath, { inputShape: [32, 32, 3], outputName: 'logits' })).rejects.toThrow(
      /^loadOnnxBase: outputName must be one of .*'s outputs \(features, feature_map\), got "logits"$/,
    );
  });

  it('asks for the layout when the input does not tell it, and takes it when given', async () => {
    const ambiguous = (await convertLayersModel(tinyConvBnBase({ inputShape: [3, 5, 3] }))).bytes;
    await expect(loadOnnxBase(ambiguous)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: loadOnnxBase: layout must be 'NCHW' or 'NHWC', because the input [?, 3, 5, 3] does not tell which axis holds the channels, got undefined]`,
    );
    const spec = await loadOnnxBase(ambiguous, { layout: 'NHWC' });
    expect(spec.model).toMatchObject({ layout: 'NHWC', inputShape: [3, 5, 3], outputShape: [null, 2, 3, 8] });
  });

  it('downloads over http(s) into the model cache and reuses the entry; a broken entry is fetched again', async () => {
    const cacheDir = join(root, 'cache');
    const progress: Progress<'download'>[] = [];
    const url = `${origin}/models/tiny_cnn.onnx`;
    const spec = await loadOnnxBase(url, { cacheDir, inputShape: [32, 32, 3], onProgress: (f) => progress.push(f) });
    expect(spec).toMatchObject({ name: 'tiny_cnn.onnx', model: { layout: 'NCHW', outputShape: [null, 16] } });
    expect(Buffer.from(spec.model.bytes).equals(torchBytes)).toBe(true);
    expect(progress[0]).toEqual({ phase: 'download', done: 0, total: undefined });
    expect(progress.at(-1)).toEqual({ phase: 'download', done: torchBytes.byteLength, total: torchBytes.byteLength });
    const entries = await readdir(cacheDir);
    expect(entries).toEqual([expect.stringMatching(/^127\.0\.0\.1_\d+_models_tiny_cnn\.onnx-[0-9a-f]{16}$/)]);
    expect(await readdir(join(cacheDir, entries[0] as string))).toEqual(['model.onnx']);

    const count = requests.length;
    await loadOnnxBase(url, { cacheDir, inputShape: [32, 32, 3] });
    expect(requests.length).toBe(count);
    await writeFile(join(cacheDir, entries[0] as string, 'model.onnx'), 'garbage');
    const again = await loadOnnxBase(url, { cacheDir, inputShape: [32, 32, 3] });
    expect(requests.length).toBe(count + 1);
    expect(Buffer.from(again.model.bytes).equals(torchBytes)).toBe(true);
  });

  it('refuses failed, oversized, cut-off, silent and non-ONNX downloads, and caches none of them', async () => {
    const cacheDir = join(root, 'cache-bad');
    const load = (path: string, extra = {}) => loadOnnxBase(`${origin}${path}`, { cacheDir, inputShape: [32, 32, 3], ...extra });
    const shown = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message.split(origin).join('<origin>')}`);
    expect(await shown(load('/gone.onnx'))).toMatchInlineSnapshot(`"LoadError: loadOnnxBase: cannot download <origin>/gone.onnx: HTTP 404 Not Found"`);
    expect(await shown(load('/models/tiny_cnn.onnx', { maxBytes: 1000 }))).toMatch(
      /^UnsafeModelError: loadOnnxBase: <origin>\/models\/tiny_cnn\.onnx is \d+ bytes, more than the 1000 allowed; refused$/,
    );
    expect(await shown(load('/truncated.onnx'))).toMatch(/^LoadError: loadOnnxBase: the download of <origin>\/truncated\.onnx was cut off/);
    expect(await shown(load('/silent.onnx', { timeoutMs: 300 }))).toMatchInlineSnapshot(
      `"LoadError: loadOnnxBase: the download of <origin>/silent.onnx stalled: nothing arrived for 300 ms"`,
    );
    expect(await shown(load('/error-page.onnx'))).toMatch(
      /^LoadError: loadOnnxBase: <origin>\/error-page\.onnx is not an ONNX model \(it looks like HTML or XML, perhaps an error page; /,
    );
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });

  it('refuses bad sources and options before reading anything', async () => {
    await expect(loadOnnxBase(42 as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: loadOnnxBase: source must be a path, a file:// or http(s):// URL, or the bytes of an ONNX file (Uint8Array or ArrayBuffer), got 42]`,
    );
    await expect(loadOnnxBase('ftp://example.com/m.onnx')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', option: 'source' });
    await expect(loadOnnxBase(join(root, 'missing.onnx'))).rejects.toThrow(/^loadOnnxBase: cannot read .*missing\.onnx \(ENOENT/);
    await expect(loadOnnxBase(root)).rejects.toThrow(/is not a file$/);
    await expect(loadOnnxBase(tinyPath, { inputshape: [8, 8, 3] } as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: loadOnnxBase: options must be known option names (did you mean 'inputShape'?), got "inputshape"]`,
    );
    await expect(loadOnnxBase(tinyPath, { layout: 'CHW' as never })).rejects.toMatchObject({ option: 'layout' });
    await expect(loadOnnxBase(tinyPath, { inputShape: [8, 0, 3] })).rejects.toMatchObject({ option: 'inputShape' });
    await expect(loadOnnxBase(tinyPath, { preprocessing: 'imagenet' as never })).rejects.toMatchObject({ option: 'preprocessing' });
    await expect(loadOnnxBase(tinyPath, { maxBytes: 0 })).rejects.toMatchObject({ option: 'maxBytes' });
    await expect(loadOnnxBase(tinyPath, { timeoutMs: -1 })).rejects.toMatchObject({ option: 'timeoutMs' });
    await expect(loadOnnxBase(tinyPath, { inputShape: [12, 11, 3] })).rejects.toMatchObject({ option: 'inputShape' });
  });
});
