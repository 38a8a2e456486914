// The README's quickstart, run as the README says: its setup commands in a fresh folder (npm init -y, so
// "type": "commonjs"), its code block saved under the name its run command uses, then that command, on a tiny
// generated PetImages folder; then the TypeScript variant it names (.mts through tsx). tl-kit comes from the tarball
// and every other package at the version this checkout is tested with, from the local npm cache first.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, NPM_QUIET, root, run, runCaptured, step, testedVersion, writeImageFolders } from './lib.mjs';

/** The fenced blocks of the README's `## Quickstart` section and its prose, in order. */
export function quickstartSection(readme) {
  const start = readme.indexOf('\n## Quickstart\n');
  check(start >= 0, 'README.md has no "## Quickstart" section');
  const end = readme.indexOf('\n## ', start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...text.matchAll(/^```(\w*)\n([^]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2] }));
  return { text, blocks };
}

/** An `npm install` line of the README with tl-kit mapped to the tarball and unpinned packages pinned. */
function pinned(line, tarball) {
  const words = line.replace(/#.*$/, '').trim().split(/\s+/);
  if (words[0] !== 'npm' || (words[1] !== 'install' && words[1] !== 'i')) return line;
  const mapped = words.slice(2).map((w) => {
    if (w.startsWith('-')) return w;
    if (w === 'tl-kit') return tarball;
    const version = w.lastIndexOf('@') > 0 ? undefined : testedVersion(w);
    return version === undefined ? w : `${w}@${version}`;
  });
  return ['npm', 'install', ...NPM_QUIET, ...mapped].join(' ');
}

/** Runs the README's quickstart in a folder under `work`, with tl-kit installed from `tarball`. */
export function checkQuickstart(work, tarball) {
  const { text, blocks } = quickstartSection(readFileSync(join(root, 'README.md'), 'utf8'));
  const shells = blocks.filter((b) => b.lang === 'sh');
  const code = blocks.find((b) => b.lang === 'js');
  check(shells.length === 2 && code !== undefined, 'the Quickstart section must hold a sh setup block, a js code block and a sh run block');
  const [setup, runBlock] = shells;
  const runLine = runBlock.body.split('\n').map((l) => l.replace(/#.*$/, '').trim()).find((l) => l.length > 0);
  const file = /\s(\S+\.mjs)\b/.exec(runLine ?? '')?.[1];
  check(file !== undefined, `the run block must run a .mjs file, got: ${runLine}`);

  // The setup block, line by line in one shell (its cd holds), then pwd to learn where the project is.
  const lines = setup.body.split('\n').filter((l) => l.trim().length > 0 && !l.trim().startsWith('#'));
  const script = ['set -e', ...lines.map((l) => pinned(l, tarball)), 'pwd'].join('\n');
  mkdirSync(join(work, 'quickstart'), { recursive: true });
  step('quickstart: the README setup commands, tl-kit from the tarball');
  const project = run('bash', ['-c', script], join(work, 'quickstart')).trim().split('\n').pop();
  const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
  check(manifest.type !== 'module', 'the quickstart project is meant to be what npm init -y makes (not "type": "module")');

  writeImageFolders(join(project, 'PetImages'), ['Cat', 'Dog'], 10, 24);
  writeFileSync(join(project, file), code.body);
  step(`quickstart: ${runLine}`);
  const result = runCaptured('bash', ['-c', runLine], project);
  check(result.code === 0, `${runLine} failed (exit ${result.code}):\n${result.stdout}${result.stderr}`);
  check(/^before \{/m.test(result.stdout) && /^after \{/m.test(result.stdout), `${runLine} did not print before / after:\n${result.stdout}`);
  check(/^epoch 10\/10 /m.test(result.stderr), `${runLine} printed no progress lines on a non-TTY stderr:\n${result.stderr}`);

  // The TypeScript variant the section names: `npx tsx NAME.mts` after `npm install -D tsx`.
  const ts = /`(npx tsx (\S+\.mts))`/.exec(text);
  const install = /`(npm install -D tsx)`/.exec(text);
  check(ts !== null && install !== null, 'the Quickstart section must name its TypeScript variant: `npx tsx NAME.mts` after `npm install -D tsx`');
  run('bash', ['-c', pinned(install[1], tarball)], project);
  writeFileSync(join(project, ts[2]), code.body);
  step(`quickstart: ${ts[1]}`);
  const typed = runCaptured('bash', ['-c', ts[1]], project);
  check(typed.code === 0 && /^after \{/m.test(typed.stdout), `${ts[1]} failed (exit ${typed.code}):\n${typed.stdout}${typed.stderr}`);
}
