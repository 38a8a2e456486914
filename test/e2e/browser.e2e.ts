/**
 * End-to-end: the browser example built with Vite as a user builds it (no warning allowed, no Node code in the
 * output), served on 127.0.0.1, in Debian's headless Chromium with WebGL2 on SwiftShader. It trains a head on the
 * built-in generated set with the tiny base, and must end on the `webgl` backend with test accuracy above the
 * untrained baseline, classify a new image, and export the classifier as three downloaded files that load in Node.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { chromium, type BrowserContext, type Download, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, REPO, buildExample, findNodeOnlyCode, serveStatic } from './harness';

interface AppState {
  backend: string;
  phase: string;
  baseline?: { loss: number; accuracy: number };
  final?: { loss: number; accuracy: number };
  prediction?: { label: string; probability: number }[];
  exported?: string[];
  error?: string;
}

declare global {
  interface Window {
    tlkitApp: AppState;
  }
}

const artifacts = join(REPO, '.tmp', 'e2e');
let outDir = '';
let profile = '';
let server: Server | undefined;
let context: BrowserContext | undefined;
let page: Page;
let buildWarnings: string[] = [];
const consoleLines: string[] = [];
const downloads: Download[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  await mkdir(artifacts, { recursive: true });
  outDir = await mkdtemp(join(tmpdir(), 'tlkit-browser-app-'));
  buildWarnings = await buildExample(outDir);
  const served = await serveStatic(outDir);
  server = served.server;
  profile = await mkdtemp(join(tmpdir(), 'tlkit-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 1400 },
  });
  page = await context.newPage();
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  page.on('download', (download) => downloads.push(download));
  await page.goto(served.url);
});

afterAll(async () => {
  await context?.close();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  await Promise.all([outDir, profile].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
});

/** A vertical-stripes image (80 x 80 RGBA, 0..255) the model has never seen. */
function stripes(): tf.Tensor3D {
  const rgba = new Uint8Array(80 * 80 * 4);
  for (let y = 0; y < 80; y++) {
    for (let x = 0; x < 80; x++) {
      const v = Math.round(128 + 90 * Math.sin((x / 7) * Math.PI * 2));
      rgba.set([v, Math.round(v * 0.8), 90, 255], (y * 80 + x) * 4);
    }
  }
  return tf.tensor3d(rgba, [80, 80, 4], 'int32');
}

const state = (): Promise<AppState> => page.evaluate(() => ({ ...window.tlkitApp }) as AppState);

describe('browser example in Chromium', () => {
  it('builds without a single Vite warning (tl-kit resolves to its browser build)', () => {
    expect(buildWarnings).toEqual([]);
  });

  it('ships no Node-only code in its production bundle', async () => {
    expect(await findNodeOnlyCode(outDir)).toEqual([]);
    // The one trace of Node in tl-kit's browser build: a stub that throws UnsupportedError if a Node call is made.
    const chunks = await readdir(join(outDir, 'assets'));
    expect(chunks.filter((f) => f.startsWith('node-'))).toEqual([expect.stringMatching(/^node-only-browser-stub-[\w-]+\.js$/)]);
  });

  it('starts on the WebGL backend', async () => {
    await page.waitForFunction(() => window.tlkitApp?.phase !== 'starting', undefined, { timeout: 60_000 });
    const app = await state();
    expect(app, consoleLines.join('\n')).toMatchObject({ backend: 'webgl', phase: 'idle' });
  });

  it('trains on the built-in set and beats the untrained baseline', async () => {
    await page.getByTestId('use-builtin').click();
    await page.locator('#epochs').fill('12');
    const started = Date.now();
    await page.getByTestId('train').click();
    await page.waitForFunction(() => ['done', 'error'].includes(window.tlkitApp.phase), undefined, {
      timeout: 360_000,
      polling: 500,
    });
    const app = await state();
    await page.screenshot({ path: join(artifacts, 'browser-example.png'), fullPage: true });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`browser e2e: backend ${app.backend}, baseline ${app.baseline?.accuracy}, final ${app.final?.accuracy}, ${seconds} s`);
    expect(app.error, consoleLines.join('\n')).toBeUndefined();
    expect(app.phase).toBe('done');
    expect(app.backend).toBe('webgl');
    expect(app.final?.accuracy).toBeGreaterThan(app.baseline?.accuracy ?? 1);
    expect(app.final?.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(await page.getByTestId('final-acc').textContent()).toBe(app.final?.accuracy.toFixed(3));
  });

  it('classifies a new image with the trained model', async () => {
    // A fresh vertical-stripes image the model has never seen.
    const png = new PNG({ width: 80, height: 80 });
    const image = stripes();
    png.data.set(image.dataSync());
    image.dispose();
    await page.locator('#predict-file').setInputFiles({ name: 'new.png', mimeType: 'image/png', buffer: PNG.sync.write(png) });
    await page.waitForFunction(() => (window.tlkitApp.prediction?.length ?? 0) > 0, undefined, { timeout: 60_000 });
    const app = await state();
    expect(app.prediction?.[0]?.label).toBe('vertical stripes');
    await page.screenshot({ path: join(artifacts, 'browser-example-predict.png'), fullPage: true });
  });

  it('exports the trained classifier as model.json, model.weights.bin and metadata.json that load in Node', async () => {
    downloads.length = 0;
    await page.getByTestId('export').click();
    await page.waitForFunction(() => (window.tlkitApp.exported?.length ?? 0) === 3, undefined, { timeout: 60_000 });
    const deadline = Date.now() + 30_000;
    while (downloads.length < 3 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    const names = downloads.map((d) => d.suggestedFilename()).sort();
    expect(names, consoleLines.join('\n')).toEqual(['metadata.json', 'model.json', 'model.weights.bin']);
    const folder = await mkdtemp(join(tmpdir(), 'tlkit-exported-'));
    try {
      for (const download of downloads) await download.saveAs(join(folder, download.suggestedFilename()));
      const modelJson = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as {
        weightsManifest: { paths: string[]; weights: { shape: number[] }[] }[];
        userDefinedMetadata: { tlKit: { labels: string[]; inputSize: number[]; preprocessing: string } };
      };
      expect(modelJson.weightsManifest[0]?.paths).toEqual(['./model.weights.bin']);
      const floats = modelJson.weightsManifest.flatMap((g) => g.weights).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
      expect((await readFile(join(folder, 'model.weights.bin'))).byteLength).toBe(floats * 4);
      const metadata = JSON.parse(await readFile(join(folder, 'metadata.json'), 'utf8')) as typeof modelJson.userDefinedMetadata.tlKit;
      expect(metadata).toMatchObject({ labels: ['horizontal stripes', 'vertical stripes'], imageSize: 64, inputSize: [64, 64], preprocessing: 'tf' });
      expect(modelJson.userDefinedMetadata.tlKit).toEqual(metadata);

      // The downloaded folder is a classifier: Node loads it and agrees with the page on a new image.
      await tf.setBackend('cpu');
      const { loadClassifier } = await import('../../src/index');
      const classifier = await loadClassifier(folder);
      const image = stripes();
      try {
        const [best] = await classifier.predict(image);
        expect(best?.label).toBe('vertical stripes');
      } finally {
        image.dispose();
        await classifier.dispose();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
