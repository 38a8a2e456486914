/**
 * End-to-end: the built browser example, served on 127.0.0.1, in Debian's headless Chromium with WebGL2 on
 * SwiftShader. It trains a head on the built-in generated set with the tiny base, and must end on the `webgl`
 * backend with test accuracy above the untrained baseline, then classify a new image.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, REPO, buildExample, findNodeOnlyCode, serveStatic } from './harness';

interface AppState {
  backend: string;
  phase: string;
  baseline?: { loss: number; accuracy: number };
  final?: { loss: number; accuracy: number };
  prediction?: { label: string; probability: number }[];
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
const consoleLines: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  await mkdir(artifacts, { recursive: true });
  outDir = await mkdtemp(join(tmpdir(), 'tlkit-browser-app-'));
  await buildExample(outDir);
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
  await page.goto(served.url);
});

afterAll(async () => {
  await context?.close();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  await Promise.all([outDir, profile].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
});

const state = (): Promise<AppState> => page.evaluate(() => ({ ...window.tlkitApp }) as AppState);

describe('browser example in Chromium', () => {
  it('ships no Node-only code in its production bundle', async () => {
    expect(await findNodeOnlyCode(outDir)).toEqual([]);
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
    for (let y = 0; y < 80; y++) {
      for (let x = 0; x < 80; x++) {
        const v = Math.round(128 + 90 * Math.sin((x / 7) * Math.PI * 2));
        png.data.set([v, Math.round(v * 0.8), 90, 255], (y * 80 + x) * 4);
      }
    }
    await page.locator('#predict-file').setInputFiles({ name: 'new.png', mimeType: 'image/png', buffer: PNG.sync.write(png) });
    await page.waitForFunction(() => (window.tlkitApp.prediction?.length ?? 0) > 0, undefined, { timeout: 60_000 });
    const app = await state();
    expect(app.prediction?.[0]?.label).toBe('vertical stripes');
    await page.screenshot({ path: join(artifacts, 'browser-example-predict.png'), fullPage: true });
  });
});
