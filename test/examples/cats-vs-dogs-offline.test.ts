/**
 * The cats-vs-dogs example's offline path, run as a user runs it (`tsx main.ts`, tl-kit resolved through the example's
 * node_modules to this checkout's build): a generated image folder with `--data` and a tiny base saved to disk and
 * loaded through `--base file://...`. Needs `npm run build` first (CI builds before testing).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { io } from '../../src/index';

const repo = resolve(__dirname, '../..');
const example = join(repo, 'examples', 'cats-vs-dogs');
const built = existsSync(join(repo, 'dist', 'index.js')) && existsSync(join(repo, 'dist', 'nsfwjs.js'));
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** What `npm install` of `"tl-kit": "file:../.."` makes: node_modules/tl-kit pointing at the checkout. */
async function linkTlKit(): Promise<void> {
  const modules = join(example, 'node_modules');
  try {
    await lstat(join(modules, 'tl-kit'));
  } catch {
    await mkdir(modules, { recursive: true });
    await symlink(relative(modules, repo), join(modules, 'tl-kit'), 'dir');
  }
}

function runExample(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const tsx = join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const child = spawn(process.execPath, [tsx, 'main.ts', ...args], { cwd: example, env: { ...process.env, TLKIT_CACHE_DIR: join(tmpdir(), 'tlkit-no-cache') } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

/** Two learnable classes of 32x32 PNGs: bright top half vs bright bottom half, plus a file that is not an image. */
async function makeFolder(root: string): Promise<void> {
  for (const [label, top] of [['Cat', true], ['Dog', false]] as const) {
    await mkdir(join(root, label), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const png = new PNG({ width: 32, height: 32 });
      for (let p = 0; p < 32 * 32; p++) {
        const bright = p < 512 === top;
        const v = bright ? 200 + ((i * 7 + p) % 50) : 30 + ((i * 13 + p) % 40);
        png.data.set([v, v, v, 255], p * 4);
      }
      await writeFile(join(root, label, `${i}.jpg`), PNG.sync.write(png)); // extension lies, as in PetImages
    }
  }
  await writeFile(join(root, 'Cat', '666.jpg'), 'not an image');
}

describe.skipIf(!built)('cats-vs-dogs example offline (needs npm run build)', () => {
  it('trains on a --data folder with a file:// base and writes the report', async () => {
    await linkTlKit();
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-cvd-'));
    dirs.push(dir);
    const data = join(dir, 'PetImages');
    await makeFolder(data);
    const base = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      ],
    });
    await base.save(io.fileSaveHandler(join(dir, 'base')));
    base.dispose();
    const out = join(dir, 'report');
    const { code, output } = await runExample([
      '--data', data,
      '--base', pathToFileURL(join(dir, 'base', 'model.json')).href,
      '--base-size', '32', '--image-size', '32', '--preprocessing', 'unit',
      '--samples', 'all', '--epochs', '3', '--backend', 'cpu', '--out', out,
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('25 images under');
    expect(output).toMatch(/skipped 1 unusable files, e\.g\. .*666\.jpg/);
    expect(output).toMatch(/accuracy before \d\.\d{3}, after \d\.\d{3}/);
    expect(output).toContain(`report: ${join(out, 'report.html')}`);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Cats vs dogs');
  }, 120_000);

  it('prints its help and refuses bad flags', async () => {
    await linkTlKit();
    const help = await runExample(['--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('--base SOURCE');
    const bad = await runExample(['--backend', 'webgpu', '--data', '.']);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain("--backend: expected wasm or cpu, got 'webgpu'");
  }, 60_000);

  it('offline without --data: names the cause and suggests --data DIR, without a stack trace', async () => {
    await linkTlKit();
    const cache = await mkdtemp(join(tmpdir(), 'tlkit-cvd-cache-'));
    dirs.push(cache);
    // A host that never resolves stands for any host on a machine without network.
    const { code, output } = await runExample(['--url', 'http://download.invalid/kagglecatsanddogs_5340.zip', '--cache-dir', cache, '--backend', 'cpu']);
    expect(code).toBe(1);
    expect(output).toMatch(/cannot download PetImages: .*host not found.*download\.invalid/);
    expect(output).toContain('npm start -- --data DIR');
    expect(output).toContain(`into ${cache}`);
    expect(output).not.toMatch(/^\s+at /m);
  }, 60_000);
});
