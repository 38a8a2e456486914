/** saveClassifier / loadClassifier over http(s), against a 127.0.0.1 server the test starts. */
import * as tf from '@tensorflow/tfjs-core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { saveClassifier } from '../../src/classifier/save';
import { loadClassifier } from '../../src/classifier/load';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';

const stored = new Map<string, Uint8Array>();
let server: Server;
let origin = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (req.url === '/silent') return; // takes the upload and never answers
      if (req.method === 'POST') {
        // tfjs's http saver posts multipart form data: model.json and model.weights.bin.
        const request = new Request(`${origin}${req.url}`, {
          method: 'POST',
          headers: { 'content-type': req.headers['content-type'] ?? '' },
          body: Buffer.concat(chunks),
        });
        const form = await request.formData();
        for (const [name, value] of form.entries()) {
          stored.set(`/${name}`, new Uint8Array(await (value as Blob).arrayBuffer()));
        }
        res.writeHead(200).end('{}');
        return;
      }
      const body = stored.get(req.url ?? '');
      if (!body) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('classifier over http', () => {
  it('saves with an http upload and loads back by URL with its metadata', async () => {
    const data = makeTestSource({ numClasses: 3 });
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 3, seed: 4 });
    await saveClassifier(model, data, `${origin}/upload`);
    expect([...stored.keys()].sort()).toEqual(['/model.json', '/model.weights.bin']);
    const classifier = await loadClassifier(`${origin}/model.json`);
    expect(classifier.metadata.labels).toEqual(['red', 'green', 'blue']);
    const image = tf.fill([8, 8, 3], 128, 'int32') as tf.Tensor3D;
    const out = await classifier.predict(image);
    expect(out).toHaveLength(3);
    expect(out.reduce((a, p) => a + p.probability, 0)).toBeCloseTo(1, 5);
    image.dispose();
    await classifier.dispose();
    model.dispose();
    base.dispose();
    data.dispose();
  });

  it('gives up on a server that takes the upload and never answers, after timeoutMs (tfjs alone waits forever)', async () => {
    const data = makeTestSource({ numClasses: 3 });
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 3 });
    const started = Date.now();
    await expect(saveClassifier(model, data, `${origin}/silent`, { timeoutMs: 300 })).rejects.toThrow(
      `saveClassifier: ${origin}/silent did not answer within 300 ms (timeoutMs)`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(saveClassifier(model, data, `${origin}/silent`, { timeoutMs: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: saveClassifier: timeoutMs must be a number of milliseconds in (0, 86400000], got 0]`);
    model.dispose();
    base.dispose();
    data.dispose();
  });
});
