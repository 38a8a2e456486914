/**
 * Helpers of the browser end-to-end test: build the example app as a user would, serve it on 127.0.0.1, and start
 * Debian's Chromium with a WebGL2 that works without a GPU (SwiftShader through ANGLE).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The browser example. */
export const EXAMPLE = join(REPO, 'examples', 'browser');
/** Debian's Chromium (`apt-get install chromium`); browsers cannot be downloaded on these machines. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that give a working WebGL2 through SwiftShader in headless Chromium on a machine without a GPU. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Makes `examples/browser/node_modules/tl-kit` point at this checkout, as `npm install` of `"tl-kit": "file:../.."`
 * does, unless the example already has an installed copy. Everything else resolves from the repository's
 * node_modules.
 */
export async function linkTlKit(exampleDir: string): Promise<void> {
  const modules = join(exampleDir, 'node_modules');
  const link = join(modules, 'tl-kit');
  try {
    await lstat(link);
    return;
  } catch {
    // not installed yet
  }
  await mkdir(modules, { recursive: true });
  await symlink(relative(modules, REPO), link, 'dir');
}

/** Runs a command, resolving with its output and rejecting with it when the exit code is not 0. */
export function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env: process.env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(output) : fail(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

/**
 * Builds the example with its own Vite config into `outDir`, as `npm run build` in the example does, and returns
 * every line Vite printed at log level `warn`: its warnings (such as "Module 'fs/promises' has been externalized for
 * browser compatibility") and errors. A clean build prints nothing.
 */
export async function buildExample(outDir: string): Promise<string[]> {
  if (!existsSync(join(REPO, 'dist', 'browser', 'index.js'))) {
    throw new Error('dist/browser/ is missing: run `npm run build` first (the example imports the built package)');
  }
  await linkTlKit(EXAMPLE);
  const vite = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');
  const output = await run(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], EXAMPLE);
  return output.split('\n').filter((line) => line.trim() !== '');
}

/**
 * tfjs-core's own platform code calls `require('util')` and `require('string_decoder')` inside branches that run only
 * when its IS_BROWSER flag is false; they are tfjs's, not tl-kit's, and never run in a page.
 */
const TFJS_NODE_BRANCHES = ['util', 'string_decoder'];

/**
 * Modules that only exist in Node: a browser bundle must neither import them nor contain their code. Node's
 * built-ins, sharp, and the native peers tl-kit loads lazily in Node (onnxruntime-node).
 */
export const NODE_ONLY_MODULES = [
  ...builtinModules.filter((m) => !m.startsWith('_') && !TFJS_NODE_BRANCHES.includes(m)),
  'sharp',
  'onnxruntime-node',
];

/**
 * Text found only in Node-only code: sharp's own (its libvips loader and platform detection), Vite's placeholder for
 * a Node module it externalized, and tl-kit's Node decoder and folder scan (a sharp option, file-system error codes
 * and reasons). Mentions of
 * sharp in tl-kit's error messages are not code and are not reported.
 */
const NODE_ONLY_CODE = ['libvips', 'detect-libc', 'sharp-libvips', '__vite-browser-external', 'failOn', 'symlink loop', 'ELOOP'];

/**
 * Lists, for each JS file of a built app, every import or require of a Node-only module (also as `node:...`) and
 * every trace of Node-only code.
 */
export async function findNodeOnlyCode(dir: string): Promise<string[]> {
  const hits: string[] = [];
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.js'));
  for (const file of files) {
    const code = await readFile(join(dir, file), 'utf8');
    for (const name of NODE_ONLY_MODULES) {
      const escaped = name.replace(/[/.]/g, (c) => `\\${c}`);
      const pattern = new RegExp(`(?:import\\s*\\(|from|require\\()\\s*['"\`](?:node:)?${escaped}['"\`]`);
      if (pattern.test(code)) hits.push(`${file}: imports '${name}'`);
    }
    if (/['"`]node:[a-z_/]+['"`]/.test(code)) hits.push(`${file}: names a node: module`);
    for (const marker of NODE_ONLY_CODE) if (code.includes(marker)) hits.push(`${file}: contains Node-only code ('${marker}')`);
  }
  return hits;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Serves `root` on 127.0.0.1 (a random port). */
export async function serveStatic(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(403).end();
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404).end('not found');
      }
    })();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}
