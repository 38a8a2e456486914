#!/usr/bin/env node
// Packaging test: build, pack, install the tarball into a throwaway project with the tfjs peers and the cpu backend,
// then import it through ESM and CJS and typecheck a consumer file. Run by `npm run test:package` and by .ci/run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const step = (msg) => process.stdout.write(`package-test: ${msg}\n`);

const publicNames = ['Wrapper', 'DataLoader', 'evaluateBaseline', 'fit', 'evaluate', 'TlKitError'];

step('building');
run('npm', ['run', 'build', '--silent'], root);

const work = mkdtempSync(join(tmpdir(), 'tl-kit-pack-'));
let failed = false;
try {
  step('packing');
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], root));
  const files = packed[0].files.map((f) => f.path).sort();
  const stray = files.filter((f) => !(f.startsWith('dist/') || ['README.md', 'LICENSE', 'package.json'].includes(f)));
  if (stray.length > 0) throw new Error(`tarball contains files outside dist/README/LICENSE/package.json: ${stray.join(', ')}`);
  step(`tarball has ${files.length} files`);

  const consumer = join(work, 'consumer');
  run('mkdir', ['-p', consumer], work);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const peers = Object.entries(pkg.peerDependencies).map(([n]) => `${n}@${pkg.devDependencies[n].replace(/^\^|~/, '')}`);
  const tfVersion = pkg.devDependencies['@tensorflow/tfjs-core'].replace(/^\^|~/, '');
  step('installing the tarball with its peers');
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(work, packed[0].filename),
      ...peers, `@tensorflow/tfjs-backend-cpu@${tfVersion}`, `typescript@${pkg.devDependencies.typescript}`,
      `@types/node@${pkg.devDependencies['@types/node']}`],
    consumer,
  );

  const check = `if (typeof m.${publicNames.join(" !== 'function' || typeof m.")} !== 'function') throw new Error('missing export');`;
  writeFileSync(
    join(consumer, 'esm.mjs'),
    `import '@tensorflow/tfjs-backend-cpu';\nimport * as m from 'tl-kit';\nimport { ${publicNames.join(', ')} } from 'tl-kit';\n` +
      `${check}\nconsole.log('esm ok', m.VERSION);\n`,
  );
  writeFileSync(
    join(consumer, 'cjs.cjs'),
    `require('@tensorflow/tfjs-backend-cpu');\nconst m = require('tl-kit');\n${check}\nconsole.log('cjs ok', m.VERSION);\n`,
  );
  writeFileSync(
    join(consumer, 'nsfwjs.mjs'),
    `import { loadNsfwBase } from 'tl-kit/nsfwjs';\nif (typeof loadNsfwBase !== 'function') throw new Error('missing loadNsfwBase');\nconsole.log('esm tl-kit/nsfwjs ok');\n`,
  );
  writeFileSync(
    join(consumer, 'nsfwjs.cjs'),
    `const { loadNsfwBase } = require('tl-kit/nsfwjs');\nif (typeof loadNsfwBase !== 'function') throw new Error('missing loadNsfwBase');\nconsole.log('cjs tl-kit/nsfwjs ok');\n`,
  );
  step(run('node', ['esm.mjs'], consumer).trim());
  step(run('node', ['nsfwjs.mjs'], consumer).trim());
  step(run('node', ['nsfwjs.cjs'], consumer).trim());
  step(run('node', ['cjs.cjs'], consumer).trim());

  writeFileSync(
    join(consumer, 'consumer.ts'),
    `import { ${publicNames.join(', ')}, VERSION } from 'tl-kit';\nimport type { WrapperOptions, FitOptions, DataLoaderOptions } from 'tl-kit';\nimport { loadNsfwBase } from 'tl-kit/nsfwjs';\n` +
      `const v: string = VERSION;\nconst o: WrapperOptions = { numClasses: 3, pooling: "avg" };\nconst f: Partial<FitOptions> = {};\nconst d: Partial<DataLoaderOptions> = {};\n` +
      `export const used = [${publicNames.join(', ')}, v, o, f, d, loadNsfwBase];\n`,
  );
  for (const [mod, res] of [['nodenext', 'nodenext'], ['esnext', 'bundler']]) {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: mod, moduleResolution: res, target: 'es2022', skipLibCheck: true, types: ['node'], lib: ['es2022', 'dom'] }, files: ['consumer.ts'] }),
    );
    run('npx', ['tsc', '-p', 'tsconfig.json'], consumer);
    step(`types resolve (moduleResolution ${res})`);
  }
  step('publint and are-the-types-wrong');
  run('npx', ['publint', '--strict'], root);
  run('npx', ['attw', '--pack', '.', '--profile', 'node16'], root);
  step('all checks passed');
} catch (err) {
  failed = true;
  process.stderr.write(`package-test: FAILED: ${err.message}\n${err.stdout ?? ''}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
