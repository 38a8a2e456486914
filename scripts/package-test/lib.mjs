// Shared machinery of the packaging tests (scripts/package-test.mjs): running commands, pinning packages to the
// versions this checkout was tested with, and writing tiny PNG image folders.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';

export const root = resolve(import.meta.dirname, '..', '..');
export const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Runs a command and returns its stdout; stderr goes to the terminal. Throws (with stdout) on a non-zero exit. */
export const run = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env: { ...process.env, ...env } });

/** Runs a command and returns { code, stdout, stderr } whatever its exit code. */
export function runCaptured(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const step = (msg) => process.stdout.write(`package-test: ${msg}\n`);

/** Throws with `message` unless `ok`. */
export function check(ok, message) {
  if (!ok) throw new Error(message);
}

/** The version this checkout develops against (its devDependency range without ^ or ~), or undefined. */
export function testedVersion(name) {
  const range = pkg.devDependencies[name];
  return range === undefined ? undefined : range.replace(/^[\^~]/, '');
}

/** npm's flags for installs that take packages from the local cache first and print no notices. */
export const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline'];

/**
 * Writes `count` PNGs of `size` x `size` per class under `dir`/<class>/: class i is a distinct colour with a little
 * noise, so any base separates the classes.
 */
export function writeImageFolders(dir, classes, count = 10, size = 32) {
  const colours = [[220, 40, 30], [40, 60, 220], [40, 200, 60], [220, 200, 40]];
  classes.forEach((name, k) => {
    mkdirSync(join(dir, name), { recursive: true });
    const [r, g, b] = colours[k % colours.length];
    for (let i = 0; i < count; i++) {
      const png = new PNG({ width: size, height: size });
      for (let p = 0; p < size * size; p++) {
        const noise = ((p * 7 + i * 13) % 41) - 20;
        png.data.set([r + noise, g + noise, b + noise, 255], p * 4);
      }
      writeFileSync(join(dir, name, `${i}.png`), PNG.sync.write(png));
    }
  });
}
