import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';
import { browserStubs } from './scripts/browser-stubs';

// tfjs is a peer (one engine per app); the optional peers, onnx-proto and Node built-ins are loaded lazily and never
// bundled.
const PEERS = [/^@tensorflow\//, 'sharp', 'jpeg-js', 'pngjs', /^nsfwjs(\/|$)/, 'h5wasm', 'fflate', 'vega', 'vega-lite', 'onnx-proto', 'onnxruntime-node'];

const shared: Options = {
  // Node 20 is the oldest runtime we support; browsers get whatever their bundler targets.
  target: 'es2022',
  // A readable build: users debug into it and bundlers minify anyway.
  minify: false,
  // Source maps let stack traces point at src/.
  sourcemap: true,
  // Keep modules separate so an app's bundler can tree-shake what it does not call.
  splitting: true,
};

export default defineConfig([
  {
    ...shared,
    // One public entry per import path: the core, and the optional nsfwjs backbones that pull in large weight modules.
    entry: {
      index: 'src/index.ts',
      nsfwjs: 'src/nsfwjs/index.ts',
      // Worker-thread entry of multi-core feature extraction; found at run time next to the module that starts it.
      'speed-worker': 'src/runtime/worker.ts',
      // The `tl-kit` command-line tool (package.json `bin`); esbuild keeps its shebang and tsup makes it executable.
      cli: 'src/cli/main.ts',
    },
    // ESM for modern bundlers and Node, CJS for require() users.
    format: ['esm', 'cjs'],
    // Type declarations for both formats (.d.ts and .d.cts) of the import paths, so each resolution mode gets matching
    // types; the worker and the command-line tool are not imported by users; the browser build uses the .d.ts.
    dts: { entry: { index: 'src/index.ts', nsfwjs: 'src/nsfwjs/index.ts' } },
    // Start every build from an empty dist so removed files never ship, but leave dist/browser to the build below,
    // which runs at the same time.
    clean: ['**/*', '!browser/**'],
    external: [...PEERS, /^node:/],
    // import.meta.url in the CJS build (locating speed-worker.cjs); nothing is injected where it is not used.
    shims: true,
    // Same file layout for import and require consumers.
    outExtension({ format }) {
      return { js: format === 'cjs' ? '.cjs' : '.js' };
    },
  },
  {
    ...shared,
    // What the `browser` export condition points at (Vite, webpack, esbuild and Rollup's node-resolve pick it for web
    // builds): the same entries without a single Node module, so an app's bundler has nothing to externalize or warn
    // about. Each Node built-in and each src/**/node-*.ts module becomes a stub that throws UnsupportedError.
    entry: { index: 'src/index.ts', nsfwjs: 'src/nsfwjs/index.ts' },
    outDir: 'dist/browser',
    // ES modules only: every browser bundler reads them.
    format: ['esm'],
    // Resolve with the browser conditions and fail on anything Node-only that is not swapped below.
    platform: 'browser',
    dts: false,
    clean: true,
    external: PEERS,
    // Keep `node:` on built-in imports so the plugin below sees and swaps them (tsup would strip it and externalize).
    removeNodeProtocol: false,
    esbuildPlugins: [browserStubs({ builtins: builtinModules, errorsModule: resolve('src/errors.ts') })],
  },
]);
