import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('browser bundles', () => {
  it('reach sharp, node:fs and the pure-JS decoders only through dynamic import()', async () => {
    const result = await build({
      stdin: {
        contents: "export { DataLoader } from './src/data/data-loader';\nexport { decodeImage } from './src/data/decode';\nexport { prepareImages } from './src/data/prepare';",
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
    expect(everywhere.some((i) => i.path === 'sharp' && i.kind === 'dynamic-import')).toBe(true);
    // No chunk that the entry loads statically imports Node modules.
    const staticChunks = new Set(staticImports);
    for (const [name, out] of Object.entries(result.metafile.outputs)) {
      if (![...staticChunks].some((p) => name.endsWith(p.replace(/^\.\//, '')))) continue;
      expect(out.imports.filter((i) => i.kind === 'import-statement' && i.path.startsWith('node:'))).toEqual([]);
    }
  });
});
