#!/usr/bin/env node
// Packaging test: build, pack, install the tarball into a throwaway project with the tfjs peers and the cpu backend,
// then import it through ESM and CJS, typecheck a consumer file, run the `tl-kit` bin through npx
// (package-test/cli.mjs), and run the README's quickstart as the README says (package-test/quickstart.mjs). Run by
// `npm run test:package` and by .ci/run. `node scripts/package-test.mjs cli quickstart` runs only those parts
// (imports, cli, quickstart).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCli } from './package-test/cli.mjs';
import { NPM_QUIET, pkg, root, run, step, testedVersion } from './package-test/lib.mjs';
import { checkQuickstart } from './package-test/quickstart.mjs';

const PARTS = ['imports', 'cli', 'quickstart'];
const asked = process.argv.slice(2);
const unknown = asked.filter((p) => !PARTS.includes(p));
if (unknown.length > 0) {
  process.stderr.write(`package-test: unknown part ${unknown.join(', ')}; the parts are ${PARTS.join(', ')}\n`);
  process.exit(2);
}
const parts = asked.length > 0 ? asked : PARTS;

const publicNames = ['Wrapper', 'DataLoader', 'evaluateBaseline', 'fit', 'evaluate', 'TlKitError'];

function checkImports(consumer) {
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
}

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
  const tarball = join(work, packed[0].filename);

  if (parts.includes('imports') || parts.includes('cli')) {
    const consumer = join(work, 'consumer');
    mkdirSync(consumer, { recursive: true });
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const peers = Object.keys(pkg.peerDependencies).map((n) => `${n}@${testedVersion(n)}`);
    const tfVersion = testedVersion('@tensorflow/tfjs-core');
    step('installing the tarball with its peers');
    run(
      'npm',
      ['install', ...NPM_QUIET, '--ignore-scripts', tarball, ...peers, `@tensorflow/tfjs-backend-cpu@${tfVersion}`,
        `typescript@${pkg.devDependencies.typescript}`, `@types/node@${pkg.devDependencies['@types/node']}`],
      consumer,
    );
    if (parts.includes('imports')) checkImports(consumer);
    if (parts.includes('cli')) checkCli(consumer);
  }
  if (parts.includes('quickstart')) checkQuickstart(work, tarball);
  step(`all checks passed (${parts.join(', ')})`);
} catch (err) {
  failed = true;
  process.stderr.write(`package-test: FAILED: ${err.message}\n${err.stdout ?? ''}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
