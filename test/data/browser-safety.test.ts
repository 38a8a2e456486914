import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('browser bundles', () => {
  it('never name the Node-only or optional peers (sharp, decoders, h5wasm, fflate, converter), and reach node: modules only through dynamic import()', async () => {
    const result = await build({
      stdin: {
        contents: "export * from './src/index';",
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      splitting: true,
      outdir: 'out',
      external: ['@tensorflow/*', 'sharp', 'jpeg-js', 'pngjs', 'node:*'],
      logLevel: 'silent',
    });
    const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined)![1];
    const staticImports = entry.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path);
    for (const banned of ['sharp', 'jpeg-js', 'pngjs', 'node:fs/promises', 'node:path', 'node:url']) {
      expect(staticImports).not.toContain(banned);
    }
    const chunks = Object.values(result.metafile.outputs);
    const everywhere = chunks.flatMap((o) => o.imports);
    // An app's bundler must not see optional peers at all: it would bundle them (sharp into a browser build) or fail
    // when they are not installed.
    const optionalPeers = ['sharp', 'jpeg-js', 'pngjs', 'h5wasm', 'fflate', '@tensorflow/tfjs-converter'];
    expect(everywhere.filter((i) => optionalPeers.includes(i.path))).toEqual([]);
    // No chunk that the entry loads statically imports Node modules.
    const staticChunks = new Set(staticImports);
    for (const [name, out] of Object.entries(result.metafile.outputs)) {
      if (![...staticChunks].some((p) => name.endsWith(p.replace(/^\.\//, '')))) continue;
      expect(out.imports.filter((i) => i.kind === 'import-statement' && i.path.startsWith('node:'))).toEqual([]);
    }
  });
});
