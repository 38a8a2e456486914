/**
 * The node-quickstart example as a user runs it (`tsx main.ts DIR`, tl-kit resolved through the example's
 * node_modules to this checkout's build) on a three-class folder: it must print the metrics that exist for three
 * classes (macro averages) and nothing undefined. Needs `npm run build` first (CI builds before testing).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(__dirname, '../..');
const example = join(repo, 'examples', 'node-quickstart');
const built = existsSync(join(repo, 'dist', 'index.js')) && existsSync(join(repo, 'dist', 'nsfwjs.js'));
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function runExample(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const tsx = join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const child = spawn(process.execPath, [tsx, 'main.ts', ...args], { cwd: example });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

describe.skipIf(!built)('node-quickstart example (needs npm run build)', () => {
  it('prints macro averages for three classes and nothing undefined', async () => {
    const modules = join(example, 'node_modules');
    try {
      await lstat(join(modules, 'tl-kit'));
    } catch {
      await mkdir(modules, { recursive: true });
      await symlink(relative(modules, repo), join(modules, 'tl-kit'), 'dir');
    }
    const root = await mkdtemp(join(tmpdir(), 'tlkit-quickstart-'));
    dirs.push(root);
    // Three colours, 10 small images each: a split of 8:1:1 leaves every class one test image.
    for (const [label, rgb] of [['red', [220, 30, 30]], ['green', [30, 200, 40]], ['blue', [30, 40, 220]]] as const) {
      await mkdir(join(root, label));
      for (let i = 0; i < 10; i++) {
        const png = new PNG({ width: 16, height: 16 });
        for (let p = 0; p < 256; p++) png.data.set([rgb[0] - i * 3, rgb[1] + i, rgb[2], 255], p * 4);
        await writeFile(join(root, label, `${i}.png`), PNG.sync.write(png));
      }
    }
    const { code, output } = await runExample([root]);
    expect(code, output).toBe(0);
    const after = output.slice(output.indexOf('after {'));
    expect(after).toMatch(/macroF1: \d(\.\d+)?/);
    expect(after).toMatch(/macroPrecision: \d(\.\d+)?,\n\s+macroRecall: \d/);
    expect(after).not.toContain('rocAuc');
    expect(output).not.toContain('undefined');
  }, 120_000);
});
