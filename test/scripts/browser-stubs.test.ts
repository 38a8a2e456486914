/**
 * The browser build's plugin (scripts/browser-stubs.ts), run as tsup runs it: tl-kit's entries bundled for the browser
 * hold no Node module and no Node-only tl-kit module, reaching them only through one stub that throws tl-kit's
 * UnsupportedError, and a static import of a Node module fails the build instead of breaking apps at start-up.
 */
import { builtinModules } from 'node:module';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { browserStubs } from '../../scripts/browser-stubs';

const repo = resolve(__dirname, '../..');
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A scratch folder inside the repository, so that built chunks resolve @tensorflow/* from its node_modules. */
async function scratch(): Promise<string> {
  await mkdir(join(repo, '.tmp'), { recursive: true });
  const dir = await mkdtemp(join(repo, '.tmp', 'browser-stubs-'));
  dirs.push(dir);
  return dir;
}

const options = (outdir: string): BuildOptions => ({
  bundle: true,
  platform: 'browser',
  format: 'esm',
  splitting: true,
  outdir,
  write: true,
  metafile: true,
  logLevel: 'silent',
  external: ['@tensorflow/*', 'sharp', 'jpeg-js', 'pngjs', 'nsfwjs', 'h5wasm', 'fflate', 'vega', 'vega-lite'],
  plugins: [browserStubs({ builtins: builtinModules, errorsModule: join(repo, 'src', 'errors.ts') })],
});

describe('browser build stubs', () => {
  it('leaves no Node module in the browser build of the entries, only one stub that throws UnsupportedError', async () => {
    const out = await scratch();
    const result = await build({
      ...options(out),
      entryPoints: { index: join(repo, 'src', 'index.ts'), nsfwjs: join(repo, 'src', 'nsfwjs', 'index.ts') },
    });
    const outputs = Object.entries(result.metafile!.outputs).filter(([file]) => file.endsWith('.js'));
    const imports = outputs.flatMap(([, o]) => o.imports.map((i) => i.path));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect(imports.filter((path) => builtins.has(path))).toEqual([]);
    for (const [file] of outputs) expect(await readFile(join(repo, file), 'utf8')).not.toMatch(/["'`]node:/);
    // Node-only tl-kit modules (node-*.ts) and every Node built-in go to the same single stub.
    const inputs = outputs.flatMap(([, o]) => Object.keys(o.inputs));
    expect(inputs.filter((i) => /node-(decode|scan)\.ts$/.test(i))).toEqual([]);
    const stubs = outputs.filter(([file]) => /node-only-browser-stub-\w+\.js$/.test(file));
    expect(stubs).toHaveLength(1);
    const stub = pathToFileURL(join(repo, stubs[0]![0])).href;
    const error = (await import(stub).then(
      () => undefined,
      (e: unknown) => e,
    )) as { name: string; code: string; message: string };
    expect(error).toMatchObject({ name: 'UnsupportedError', code: 'UNSUPPORTED' });
    expect(error.message).toMatchInlineSnapshot(`"tl-kit: this call needs Node (files, worker threads or native modules), which a browser does not have"`);
  }, 60_000);

  it('fails the build on a static import of a Node module, naming the importer', async () => {
    const dir = await scratch();
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'static.ts'), "import { readFile } from 'node:fs/promises';\nexport const read = readFile;\n");
    await writeFile(join(src, 'own.ts'), "import { helper } from './node-helper';\nexport const h = helper;\n");
    await writeFile(join(src, 'node-helper.ts'), 'export const helper = 1;\n');
    for (const entry of ['static.ts', 'own.ts']) {
      const failure = await build({ ...options(join(dir, 'out')), entryPoints: [join(src, entry)] }).then(
        () => undefined,
        (e: unknown) => e as { errors: { text: string }[] },
      );
      expect(failure?.errors.map((e) => e.text)).toEqual([
        expect.stringMatching(new RegExp(`is Node-only and imported statically by .*${entry}: use a dynamic import\\(\\)`)),
      ]);
    }
  });

  it('swaps a dynamically imported Node-only module of a src folder and leaves other modules alone', async () => {
    const dir = await scratch();
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'entry.ts'), "export const load = () => import('./node-helper');\nexport { value } from './plain';\n");
    await writeFile(join(src, 'node-helper.ts'), "export const helper = 'NODE ONLY CODE';\n");
    await writeFile(join(src, 'plain.ts'), "export const value = 'BROWSER CODE';\n");
    const out = join(dir, 'out');
    const result = await build({ ...options(out), entryPoints: [join(src, 'entry.ts')] });
    const code = await Promise.all(Object.keys(result.metafile!.outputs).filter((f) => f.endsWith('.js')).map((f) => readFile(join(repo, f), 'utf8')));
    expect(code.join('\n')).toContain('BROWSER CODE');
    expect(code.join('\n')).not.toContain('NODE ONLY CODE');
  });
});
