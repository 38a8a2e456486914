/** `tl-kit predict <classifier> <images or folders...>`: the most probable class of each image, as text or JSON. */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isIgnoredName } from '../internal/file-names';
import { loadClassifier, type Prediction } from '../index';
import type { Io } from './io';
import { errorLine } from './format';
import type { PredictFlags } from './flags';
import { startRuntime } from './runtime';

/** A file to classify, or a path that could not be listed. */
interface Target {
  /** The path as shown: as given, or joined to the folder given. */
  readonly file: string;
  /** Why it cannot be classified, when listing it failed. */
  readonly problem?: string;
}

/**
 * Every file under `dir` that the dataset scan would read (hidden names and archive or OS metadata such as
 * `Thumbs.db` and `__MACOSX` are left out, as `DataLoader.fromDirectory` leaves them out), sorted, following folder
 * links once (a link loop is listed once).
 */
async function filesUnder(dir: string, shown: string, seen: Set<string>, into: Target[]): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !isIgnoredName(e.name));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    const file = join(shown, e.name);
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) {
      try {
        isDir = (await stat(path)).isDirectory();
      } catch (err) {
        into.push({ file, problem: `broken link (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` });
        continue;
      }
    }
    if (isDir) await filesUnder(path, file, seen, into);
    else into.push({ file });
  }
}

/** The files named by the arguments: files as given, folders expanded. */
async function listTargets(paths: readonly string[]): Promise<Target[]> {
  const targets: Target[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      targets.push({ file: p, problem: `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
      continue;
    }
    if (isDir) await filesUnder(p, p, new Set(), targets);
    else targets.push({ file: p });
  }
  return targets;
}

/** A classifier folder, or the `--out` folder of `tl-kit train` that holds one in `classifier/`. */
async function classifierFolder(path: string): Promise<string> {
  const nested = join(path, 'classifier');
  try {
    if ((await stat(join(nested, 'model.json'))).isFile()) return nested;
  } catch {
    // not a train output folder: the path itself is the classifier
  }
  return path;
}

/** Runs `tl-kit predict`; returns the exit code (1 when an image failed). */
export async function predict(io: Io, flags: PredictFlags): Promise<number> {
  const { json, paths } = flags;
  await startRuntime(flags.runtime);
  const classifier = await loadClassifier(await classifierFolder(flags.classifier), { engine: flags.runtime.engine });
  const results: object[] = [];
  let failed = 0;
  try {
    for (const target of await listTargets(paths)) {
      let predictions: Prediction[] | undefined;
      let problem = target.problem;
      if (problem === undefined) {
        try {
          predictions = await classifier.predict(resolve(target.file));
        } catch (err) {
          problem = errorLine(err);
        }
      }
      const top = predictions?.[0];
      if (problem !== undefined || top === undefined) {
        failed++;
        const message = problem ?? 'no prediction';
        if (json) results.push({ file: target.file, error: message });
        io.stderr.write(`${target.file}: ${message}\n`);
        continue;
      }
      if (json) results.push({ file: target.file, label: top.label, probability: top.probability, predictions });
      else io.stdout.write(`${target.file}\t${top.label}\t${top.probability.toFixed(4)}\n`);
    }
  } finally {
    classifier.dispose();
  }
  if (json) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  if (failed > 0) io.stderr.write(`tl-kit predict: ${failed} file${failed === 1 ? '' : 's'} could not be classified\n`);
  return failed > 0 ? 1 : 0;
}
