import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { overrideImagenetFile } from '../../src/applications/imagenet';
import { applications } from '../../src/index';
import { writeLegacyWeights } from './write-h5';

/** Every file under `dir`, recursively (hidden temporaries included). */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const OPTIONS = { includeTop: false, inputShape: [32, 32, 3], alpha: 0.35 } as const;

let server: Server;
let base = '';
let payload: Uint8Array = new Uint8Array();
let hits = 0;
let cacheDir = '';
let sourceWeights: Float32Array[] = [];

beforeAll(async () => {
  // The "published" file: a random MobileNetV2 (alpha 0.35, 32 px) written in Keras's legacy layout.
  const source = await applications.MobileNetV2(OPTIONS);
  payload = await writeLegacyWeights(source);
  sourceWeights = source.getWeights().map((w) => w.dataSync() as Float32Array);
  source.dispose();
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/weights.h5') {
      res.writeHead(200, { 'content-length': payload.byteLength });
      res.end(payload);
    } else if (req.url === '/cut.h5') {
      // Announces the whole file, sends half of it, then drops the connection.
      res.writeHead(200, { 'content-length': payload.byteLength });
      res.write(payload.subarray(0, payload.byteLength >> 1), () => res.destroy());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  overrideImagenetFile('mobilenetv2', false, undefined);
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

function useFile(path: string, md5: string | null): string {
  cacheDir = mkdtempSync(join(tmpdir(), 'tlkit-imagenet-'));
  overrideImagenetFile('mobilenetv2', false, { fileName: 'mobilenet_test_no_top.h5', url: `${base}${path}`, md5 });
  return cacheDir;
}

describe("weights: 'imagenet'", () => {
  test('downloads, checks the MD5, caches atomically, then loads from the cache', async () => {
    const md5 = createHash('md5').update(payload).digest('hex');
    const dir = useFile('/weights.h5', md5);
    hits = 0;
    const before = tf.memory().numTensors;
    const model = await applications.MobileNetV2({ ...OPTIONS, weights: 'imagenet', cacheDir: dir });
    try {
      model.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(sourceWeights[i] as Float32Array)));
    } finally {
      model.dispose();
    }
    expect(hits).toBe(1);
    const files = listFiles(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/mobilenet_test_no_top\.h5$/);
    const again = await applications.MobileNetV2({ ...OPTIONS, weights: 'imagenet', cacheDir: dir });
    again.dispose();
    expect(hits).toBe(1); // served from the cache
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a cached file that no longer matches the pinned MD5 is downloaded again', async () => {
    const md5 = createHash('md5').update(payload).digest('hex');
    const dir = useFile('/weights.h5', md5);
    (await applications.MobileNetV2({ ...OPTIONS, weights: 'imagenet', cacheDir: dir })).dispose();
    const [cached] = listFiles(dir);
    writeFileSync(cached as string, 'damaged');
    hits = 0;
    (await applications.MobileNetV2({ ...OPTIONS, weights: 'imagenet', cacheDir: dir })).dispose();
    expect(hits).toBe(1);
    expect(createHash('md5').update(readFileSync(cached as string)).digest('hex')).toBe(md5);
  });

  test('refuses a file whose MD5 differs from the pinned one and caches nothing', async () => {
    const dir = useFile('/weights.h5', '0'.repeat(32));
    const before = tf.memory().numTensors;
    await expect(applications.MobileNetV2({ ...OPTIONS, weights: 'imagenet', cacheDir: dir })).rejects.toThrowError(
      /^applications\.MobileNetV2: mobilenet_test_no_top\.h5 has MD5 [0-9a-f]{32}, Keras pins 0{32}; refusing it$/,
    );
    expect(listFiles(dir)).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an interrupted download leaves no cache entry', async () => {
    const dir = useFile('/cut.h5', null);
    const before = tf.memory().numTensors;
    await expect(applications.MobileNetV2({ ...OPTIONS, weights: 'imagenet', cacheDir: dir })).rejects.toThrowError(/was interrupted|ended after/);
    expect(listFiles(dir)).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an HTTP error is a LoadError naming the status', async () => {
    const dir = useFile('/missing.h5', null);
    await expect(applications.MobileNetV2({ ...OPTIONS, weights: 'imagenet', cacheDir: dir })).rejects.toThrowError(
      /failed with HTTP 404$/,
    );
    expect(listFiles(dir)).toEqual([]);
  });
});

describe('imagenet file table', () => {
  test("names Keras's published files as keras.applications does", async () => {
    const { imagenetFile } = await import('../../src/applications/imagenet');
    const ka = 'https://storage.googleapis.com/tensorflow/keras-applications';
    expect(imagenetFile('vgg16', false)).toEqual({
      fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
      url: `${ka}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`,
      md5: '6d6bbae143d832006294945121d1f1fc',
    });
    expect(imagenetFile('resnet101v2', true).url).toBe(`${ka}/resnet/resnet101v2_weights_tf_dim_ordering_tf_kernels.h5`);
    expect(imagenetFile('inception_v3', false).md5).toBe('bcbd6486424b2319ff4ef7d526e38f63');
    expect(imagenetFile('mobilenetv2', false, 1.0, 160).url).toBe(
      `${ka}/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5`,
    );
    // Sizes without published weights use the 224 file, as Keras does; MobileNetV2 has no pinned hash.
    expect(imagenetFile('mobilenetv2', true, 0.35, 150)).toMatchObject({
      fileName: 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224.h5',
      md5: null,
    });
  });
});
