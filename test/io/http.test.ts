/**
 * The HTTP loader against a local server on 127.0.0.1 serving a generated model split into two shards, plus fault
 * routes: a 404, a missing shard, a truncated shard, a connection closed mid-transfer, an oversized body, an escaping
 * weight path.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSaveHandler } from '../../src/io/file-handler';
import { httpLoadHandler } from '../../src/io/http';
import { randomImages, tinyConvBnBase } from '../fixtures/bases';

let root: string;
let server: Server;
let origin: string;
let modelJson: { weightsManifest: { paths: string[] }[] };
let shard1: Buffer;
let shard2: Buffer;
let expected: number[];
const requests: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-http-'));
  const base = tinyConvBnBase({ seed: 4 });
  await base.save(fileSaveHandler(join(root, 'model')));
  const images = randomImages(2, [8, 8, 3], 3);
  expected = Array.from(tf.tidy(() => (base.predict(images) as tf.Tensor).dataSync()));
  images.dispose();
  base.dispose();
  const weights = await readFile(join(root, 'model', 'weights.bin'));
  const half = Math.floor(weights.length / 8) * 4;
  shard1 = weights.subarray(0, half);
  shard2 = weights.subarray(half);
  modelJson = JSON.parse(await readFile(join(root, 'model', 'model.json'), 'utf8'));
  modelJson.weightsManifest[0]!.paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];

  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname + url.search);
    const [, route, file] = url.pathname.split('/');
    const json = (paths: string[]) => {
      const body = JSON.stringify({ ...modelJson, weightsManifest: [{ ...modelJson.weightsManifest[0], paths }] });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    };
    const send = (body: Buffer) => res.writeHead(200, { 'content-length': body.length }).end(body);
    if (route === 'hub' && url.searchParams.get('tfjs-format') !== 'file') return res.writeHead(403).end();
    if (file === 'model.json') {
      if (route === 'gone') return res.writeHead(404, 'Not Found').end();
      if (route === 'evil') return json(['group1-shard1of2.bin', '../good/group1-shard2of2.bin']);
      if (route === 'missing') return json(['group1-shard1of2.bin', 'group1-shard3of2.bin']);
      return json(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    }
    if (file === 'group1-shard1of2.bin') return send(shard1);
    if (file === 'group1-shard2of2.bin') {
      if (route === 'truncated') return send(shard2.subarray(0, shard2.length - 8));
      if (route === 'oversized') return send(Buffer.concat([shard2, Buffer.alloc(64)]));
      if (route === 'cut') {
        res.writeHead(200, { 'content-length': shard2.length });
        res.write(shard2.subarray(0, 16));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      return send(shard2);
    }
    res.writeHead(404, 'Not Found').end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message.split(origin).join('<origin>')}`;
  }
  return 'resolved';
}

async function cacheEntries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

describe('httpLoadHandler', () => {
  it('downloads a sharded model, caches it atomically, then loads it from the cache', async () => {
    const cacheDir = join(root, 'cache-good');
    const progress: { phase: string; done: number; total: number | undefined }[] = [];
    const before = tf.memory().numTensors;
    const model = await tfl.loadLayersModel(
      httpLoadHandler(`${origin}/good/model.json`, { cacheDir, onProgress: (f) => progress.push(f) }),
    );
    const images = randomImages(2, [8, 8, 3], 3);
    const out = model.predict(images) as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual(expected);
    tf.dispose([images, out]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Files: the model.json, then its two shards.
    expect(progress).toEqual([
      { phase: 'download', done: 1, total: 3 },
      { phase: 'download', done: 2, total: 3 },
      { phase: 'download', done: 3, total: 3 },
    ]);
    const entries = await cacheEntries(cacheDir);
    expect(entries).toEqual([expect.stringMatching(/^127\.0\.0\.1_\d+_good-[0-9a-f]{16}$/)]);
    expect((await readdir(join(cacheDir, entries[0]!))).sort()).toEqual([
      'group1-shard1of2.bin',
      'group1-shard2of2.bin',
      'model.json',
    ]);

    const count = requests.length;
    const again = await tfl.loadLayersModel(httpLoadHandler(`${origin}/good/model.json`, { cacheDir }));
    expect(requests.length).toBe(count); // served from the cache
    again.dispose();

    // A damaged cache entry is detected against the manifest and downloaded again.
    await truncate(join(cacheDir, entries[0]!, 'group1-shard2of2.bin'), 10);
    const repaired = await tfl.loadLayersModel(httpLoadHandler(`${origin}/good/model.json`, { cacheDir }));
    expect(requests.length).toBe(count + 3);
    repaired.dispose();
  });

  it("keeps the model URL's query string on shard URLs (TF Hub's ?tfjs-format=file)", async () => {
    const model = await tfl.loadLayersModel(
      httpLoadHandler(`${origin}/hub/model.json?tfjs-format=file`, { cacheDir: false }),
    );
    expect(requests).toContain('/hub/group1-shard2of2.bin?tfjs-format=file');
    model.dispose();
  });

  it('reports a 404 and names a missing shard', async () => {
    const load = (route: string) => httpLoadHandler(`${origin}/${route}/model.json`, { cacheDir: false }).load!();
    expect(await failure(load('gone'))).toMatchInlineSnapshot(`"LoadError: cannot download <origin>/gone/model.json: HTTP 404 Not Found"`);
    expect(await failure(load('missing'))).toMatchInlineSnapshot(`"LoadError: cannot download <origin>/missing/group1-shard3of2.bin: HTTP 404 Not Found"`);
  });

  it('refuses a truncated or oversized shard and leaves no cache entry', async () => {
    const cacheDir = join(root, 'cache-bad');
    const load = (route: string) => httpLoadHandler(`${origin}/${route}/model.json`, { cacheDir }).load!();
    expect(await failure(load('truncated'))).toMatchInlineSnapshot(`"UnsafeModelError: <origin>/truncated/model.json: weight shards [group1-shard1of2.bin, group1-shard2of2.bin] hold 1816 bytes but the manifest's shapes and dtypes need 1824; refused"`);
    expect(await failure(load('oversized'))).toMatchInlineSnapshot(`"UnsafeModelError: <origin>/oversized/group1-shard2of2.bin: the server sends 976 bytes but the manifest allows 912; refused"`);
    expect(await cacheEntries(cacheDir)).toEqual([]);
  });

  it('fails cleanly when the server closes mid-transfer, leaving no cache entry', async () => {
    const cacheDir = join(root, 'cache-cut');
    const error = await failure(httpLoadHandler(`${origin}/cut/model.json`, { cacheDir }).load!());
    expect(error).toMatch(/^LoadError: download of <origin>\/cut\/group1-shard2of2.bin was cut off/);
    expect(await cacheEntries(cacheDir)).toEqual([]);
  });

  it('refuses a weight path that leaves the model folder', async () => {
    const load = httpLoadHandler(`${origin}/evil/model.json`, { cacheDir: false }).load!();
    expect(await failure(load)).toMatchInlineSnapshot(`"UnsafeModelError: <origin>/evil/model.json: weight path "../good/group1-shard2of2.bin" escapes the model folder; refused"`);
    expect(requests.some((r) => r.startsWith('/evil/group1'))).toBe(false); // refused before any shard request
  });

  it('validates its arguments when called, not with a TypeError from load()', async () => {
    expect(() => httpLoadHandler('not a url')).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: httpLoadHandler: url must be an absolute http(s):// URL of a model.json, got "not a url"]`);
    expect(() => httpLoadHandler('ftp://example.com/model.json')).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: httpLoadHandler: url must be an absolute http(s):// URL of a model.json, got "ftp://example.com/model.json"]`);
    expect(() => httpLoadHandler(`${origin}/good/model.json`, { cacheDir: 5 as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: httpLoadHandler: cacheDir must be a folder path or false, got 5]`);
    expect(() => httpLoadHandler(`${origin}/good/model.json`, { fetch: 'curl' as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: httpLoadHandler: fetch must be a function, got "curl"]`);
    expect(() => httpLoadHandler(`${origin}/good/model.json`, null as never)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: httpLoadHandler: options must be an object or undefined, got null]`);
  });
});
