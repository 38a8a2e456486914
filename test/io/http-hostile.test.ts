/**
 * The HTTP loader against misbehaving servers on 127.0.0.1: redirects to another origin, a server that never answers,
 * a body that stalls, a manifest whose `string` weight would lift the size limit, and a cache entry damaged in place
 * (same length). Two servers give two origins.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSaveHandler } from '../../src/io/file-handler';
import { httpLoadHandler } from '../../src/io/http';
import { loadBase } from '../../src/models/load-base';
import { UnsafeModelError } from '../../src/errors';
import { randomImages, tinyConvBnBase } from '../fixtures/bases';

type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

let root: string;
let modelJson: { weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] };
let weights: Buffer;
let expected: number[];
const requests: string[] = [];
const servers: Server[] = [];
/** Bytes the streaming route managed to send before the client gave up. */
let streamed = 0;

async function serve(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${(server.address() as AddressInfo).port}${path}`);
    handler(req, res, path);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let a: string; // the model's own origin
let b: string; // another origin

const json = (res: ServerResponse, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
};
const bytes = (res: ServerResponse, body: Buffer) => res.writeHead(200, { 'content-length': body.length }).end(body);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-http-hostile-'));
  const base = tinyConvBnBase({ seed: 5 });
  await base.save(fileSaveHandler(join(root, 'model')));
  const images = randomImages(2, [8, 8, 3], 3);
  expected = Array.from(tf.tidy(() => (base.predict(images) as tf.Tensor).dataSync()));
  images.dispose();
  base.dispose();
  weights = await readFile(join(root, 'model', 'weights.bin'));
  modelJson = JSON.parse(await readFile(join(root, 'model', 'model.json'), 'utf8'));

  b = await serve((_req, res, path) => {
    if (path.endsWith('/model.json')) return json(res, modelJson);
    if (path.endsWith('/weights.bin')) return bytes(res, weights);
    res.writeHead(404).end();
  });
  a = await serve((_req, res, path) => {
    const [, route, file] = path.split('/');
    if (route === 'hang') return; // accepts the connection, never answers
    if (file === 'model.json') {
      if (route === 'json-elsewhere') return res.writeHead(302, { location: `${b}/good/model.json` }).end();
      if (route === 'strings') {
        const group = modelJson.weightsManifest[0]!;
        return json(res, {
          ...modelJson,
          weightsManifest: [{ paths: ['weights.bin', 'vocab.bin'], weights: [...group.weights, { name: 'vocab', shape: [1], dtype: 'string' }] }],
        });
      }
      return json(res, modelJson);
    }
    if (file === 'weights.bin') {
      if (route === 'elsewhere' || route === 'chain') {
        // 'chain' first hops within the origin, then leaves it.
        const to = route === 'chain' ? `${a}/elsewhere/weights.bin` : `${b}/good/weights.bin`;
        return res.writeHead(302, { location: to }).end();
      }
      if (route === 'same') return res.writeHead(301, { location: '/good/weights.bin' }).end();
      if (route === 'stall') {
        res.writeHead(200, { 'content-length': weights.length });
        res.write(weights.subarray(0, 64)); // then nothing, connection kept open
        return;
      }
      return bytes(res, weights);
    }
    if (file === 'vocab.bin') {
      // 50 MiB of "text", chunked (no Content-Length), sent as fast as the client reads it.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let left = 50 * 1024 * 1024;
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          streamed += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on('close', () => (left = 0));
      return pump();
    }
    res.writeHead(404).end();
  });
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await rm(root, { recursive: true, force: true });
});

async function predictionsOf(handler: tf.io.IOHandler): Promise<number[]> {
  const model = await tfl.loadLayersModel(handler);
  const images = randomImages(2, [8, 8, 3], 3);
  const out = Array.from(tf.tidy(() => (model.predict(images) as tf.Tensor).dataSync()));
  images.dispose();
  model.dispose();
  return out;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const https = a.replace('http:', 'https:');
    return `${(err as Error).name}: ${(err as Error).message.split(a).join('<a>').split(b).join('<b>').split(https).join('<a-https>')}`;
  }
  return 'resolved';
}

describe('HTTP loading: redirects stay within the allowed origins', () => {
  it('refuses a shard redirected to another origin without asking that origin, like a weight path to another host', async () => {
    const seen = requests.length;
    const load = httpLoadHandler(`${a}/elsewhere/model.json`, { cacheDir: false }).load!();
    expect(await failure(load)).toMatchInlineSnapshot(`"UnsafeModelError: <a>/elsewhere/weights.bin redirects to <b>/good/weights.bin, outside the allowed origins (<a>, <a-https>); refused (pass allowedOrigins to trust another host)"`);
    const bPort = b.split(':')[2]!;
    expect(requests.slice(seen).some((r) => r.startsWith(bPort))).toBe(false);
    // A redirect within the origin is followed; a chain that leaves it later is refused all the same.
    expect(await predictionsOf(httpLoadHandler(`${a}/same/model.json`, { cacheDir: false }))).toEqual(expected);
    await expect(httpLoadHandler(`${a}/chain/model.json`, { cacheDir: false }).load!()).rejects.toBeInstanceOf(UnsafeModelError);
    // model.json itself redirected elsewhere: refused too.
    await expect(httpLoadHandler(`${a}/json-elsewhere/model.json`, { cacheDir: false }).load!()).rejects.toBeInstanceOf(UnsafeModelError);
  });

  it('follows redirects to an origin listed in allowedOrigins', async () => {
    const handler = httpLoadHandler(`${a}/elsewhere/model.json`, { cacheDir: false, allowedOrigins: [b] });
    expect(await predictionsOf(handler)).toEqual(expected);
    expect(() => httpLoadHandler(`${a}/x/model.json`, { allowedOrigins: ['not an origin'] })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: httpLoadHandler: allowedOrigins must be a list of origins such as "https://cdn.example.com", got ["not an origin"]]`);
  });
});

describe('HTTP loading: every wait has a timeout', () => {
  it('fails with a LoadError when the server never answers model.json, after timeoutMs', async () => {
    const started = Date.now();
    const load = loadBase(`${a}/hang/model.json`, { cacheDir: false, timeoutMs: 300 });
    expect(await failure(load)).toMatchInlineSnapshot(`"LoadError: loadBase: cannot download <a>/hang/model.json: no response within 300 ms (timeoutMs)"`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails with a LoadError when a body stops arriving, and leaves no cache entry', async () => {
    const cacheDir = join(root, 'cache-stall');
    const load = httpLoadHandler(`${a}/stall/model.json`, { cacheDir, timeoutMs: 300 }).load!();
    expect(await failure(load)).toMatchInlineSnapshot(`"LoadError: download of <a>/stall/weights.bin stalled: no data for 300 ms after 64 bytes (timeoutMs)"`);
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });

  it('an HTTP error inside loadBase is a LoadError that names loadBase', async () => {
    const load = loadBase(`${a}/none/nothing.json`, { cacheDir: false });
    expect(await failure(load)).toMatchInlineSnapshot(`"LoadError: loadBase: cannot download <a>/none/nothing.json: HTTP 404 Not Found"`);
    await expect(load).rejects.toHaveProperty('cause.status', 404);
  });

  it('validates timeoutMs', () => {
    expect(() => httpLoadHandler(`${a}/x/model.json`, { timeoutMs: 0 })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: httpLoadHandler: timeoutMs must be a number of milliseconds in (0, 86400000], got 0]`);
    expect(() => httpLoadHandler(`${a}/x/model.json`, { timeoutMs: Infinity })).toThrow(/timeoutMs must be/);
  });
});

describe('HTTP loading: no manifest field lifts the size limit', () => {
  it("a 'string' weight does not switch the body-size check off: a 50 MiB shard is cut off at the string budget", async () => {
    streamed = 0;
    const load = httpLoadHandler(`${a}/strings/model.json`, { cacheDir: false }).load!();
    const error = await failure(load);
    expect(error).toMatch(/^UnsafeModelError: <a>\/strings\/vocab\.bin: the server sends more than the \d+ bytes the manifest allows; refused$/);
    const limit = Number(/more than the (\d+) bytes/.exec(error)![1]);
    expect(limit).toBe(4 + 8 * 1024 * 1024); // one length prefix, plus at most 8 MiB of text
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(streamed).toBeLessThan(24 * 1024 * 1024); // the limit plus socket buffers, not 50 MiB
  });
});

describe('HTTP loading: the cache is verified by content', () => {
  it('downloads again a cached shard with 16 bytes flipped in place (same length), instead of serving it', async () => {
    const cacheDir = join(root, 'cache-flip');
    const url = `${a}/good/model.json`;
    expect(await predictionsOf(httpLoadHandler(url, { cacheDir }))).toEqual(expected);
    const [entry] = await readdir(cacheDir);
    const shard = join(cacheDir, entry!, 'weights.bin');
    const handle = await open(shard, 'r+');
    const flipped = Buffer.alloc(16);
    await handle.read(flipped, 0, 16, 100);
    for (let i = 0; i < 16; i++) flipped[i] = flipped[i]! ^ 0xff;
    await handle.write(flipped, 0, 16, 100);
    await handle.close();
    const before = requests.length;
    expect(await predictionsOf(httpLoadHandler(url, { cacheDir }))).toEqual(expected);
    expect(requests.length - before).toBe(2); // model.json and weights.bin again
    // The repaired entry is served from the cache again, and it is still a plain tfjs model folder.
    const again = requests.length;
    expect(await predictionsOf(httpLoadHandler(url, { cacheDir }))).toEqual(expected);
    expect(requests.length).toBe(again);
    expect((await readdir(join(cacheDir, entry!))).sort()).toEqual(['model.json', 'weights.bin']);
  });
});
