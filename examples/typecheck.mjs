#!/usr/bin/env node
// Typechecks every example against the BUILT package (run `npm run build` first), the way a user's project sees it:
// `tl-kit` resolves through the example's node_modules (a link to this checkout, as `npm install` of
// "tl-kit": "file:../.." makes) to dist/*.d.ts via the package's exports map. tfjs and the other dependencies resolve
// from the repository's node_modules. Also typechecks the demo, which runs from src/.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(join(repo, 'dist', 'index.d.ts'))) {
  console.error('examples/typecheck: dist/index.d.ts is missing; run `npm run build` first');
  process.exit(1);
}
let failed = 0;
for (const name of ['node-quickstart', 'cats-vs-dogs', 'browser']) {
  const dir = join(repo, 'examples', name);
  const modules = join(dir, 'node_modules');
  const link = join(modules, 'tl-kit');
  let linked = false;
  try {
    lstatSync(link);
    linked = true;
  } catch {
    // not installed: link it
  }
  if (!linked) {
    mkdirSync(modules, { recursive: true });
    symlinkSync(relative(modules, repo), link, 'dir');
  }
  failed += check(`examples/${name}`, join(dir, 'tsconfig.json'));
}
failed += check('demo', join(repo, 'demo', 'tsconfig.json'));
process.exit(failed === 0 ? 0 : 1);

function check(label, project) {
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', project], { cwd: repo, encoding: 'utf8' });
  const ok = result.status === 0;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}`);
  if (!ok) process.stdout.write(result.stdout + result.stderr);
  return ok ? 0 : 1;
}
