import { defineConfig } from 'tsup';

export default defineConfig({
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
  // types; the worker and the command-line tool are not imported by users.
  dts: { entry: { index: 'src/index.ts', nsfwjs: 'src/nsfwjs/index.ts' } },
  // Node 20 is the oldest runtime we support; browsers get whatever their bundler targets.
  target: 'es2022',
  // A readable build: users debug into it and bundlers minify anyway.
  minify: false,
  // Source maps let stack traces point at src/.
  sourcemap: true,
  // Start every build from an empty dist so removed files never ship.
  clean: true,
  // Keep modules separate so a browser bundle can tree-shake the Node-only loaders away.
  splitting: true,
  // tfjs is a peer (one engine per app); sharp, nsfwjs and Node built-ins are loaded lazily and must never be bundled.
  external: [/^@tensorflow\//, 'sharp', 'jpeg-js', 'pngjs', /^nsfwjs(\/|$)/, 'h5wasm', 'fflate', /^node:/],
  // import.meta.url in the CJS build (locating speed-worker.cjs); nothing is injected where it is not used.
  shims: true,
  // Same file layout for import and require consumers.
  outExtension({ format }) {
    return { js: format === 'cjs' ? '.cjs' : '.js' };
  },
});
