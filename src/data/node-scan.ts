/**
 * The Node folder scan of {@link DataLoader.fromDirectory}: class folders, a recursive walk that survives symlink
 * loops and unreadable folders, and a bounded-concurrency validation of every file. Node-only, and imported only
 * dynamically: the browser build swaps every `node-*.ts` module for a stub (scripts/browser-stubs.ts).
 *
 * @module
 */
import { DatasetError } from '../errors';
import { mapWithConcurrency } from '../internal/concurrency';
import { DecodeFailure, errorMessage } from './decode-error';
import type { DecodeLimits, DecoderChoice } from './decode';
import { displayName, isIgnoredName } from '../internal/file-names';
import { checkDeclaredPixels } from './image-header';
import { compareCodePoints } from './label-order';
import type { DataLoaderProgress, SkippedFile, ValidateMode } from './loader-types';
import { sniffFormat } from './pixels';

/** The reason a file directly in the dataset folder is skipped. */
export const ROOT_FILE = 'directly in the dataset folder, not in a class folder (images go in one sub-folder per class)';

/** A file found under a class folder. */
export interface FoundFile {
  /** Path relative to the root, `/`-separated, names shown as {@link displayName} writes them: the sample id. */
  readonly id: string;
  /** Absolute path as bytes, so that names that are not valid UTF-8 open. */
  readonly path: Uint8Array;
  /** Class index. */
  readonly label: number;
}

/**
 * Lists class folders and every file under them that is not hidden or archive/OS metadata ({@link isIgnoredName});
 * problems with entries become skipped files. Entries are read as bytes, so a name that is not valid UTF-8 is opened
 * by its real bytes and shown escaped (see {@link displayName}).
 */
export async function listDirectory(
  call: string,
  root: string,
  onProgress: ((e: DataLoaderProgress) => void) | undefined,
): Promise<{ labelNames: string[]; files: FoundFile[]; skipped: SkippedFile[] }> {
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const { specialFileKind } = await import('../io/read-file');
  const absRoot = Buffer.from(nodePath.resolve(root));
  const separator = Buffer.from(nodePath.sep);
  const join = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, separator, name]);
  // Folders are compared by their real path's bytes (latin1 keeps every byte) to detect symlink loops.
  const realKey = async (path: Buffer): Promise<string> =>
    (await fs.realpath(path, { encoding: 'buffer' }).catch(() => path)).toString('latin1');
  let rootStat;
  try {
    rootStat = await fs.stat(absRoot);
  } catch (err) {
    throw new DatasetError(`${call}: root ${JSON.stringify(root)} does not exist or cannot be read`, { cause: err });
  }
  if (!rootStat.isDirectory()) throw new DatasetError(`${call}: root ${JSON.stringify(root)} is not a folder`);
  const skipped: SkippedFile[] = [];
  const files: FoundFile[] = [];
  const entries = await fs.readdir(absRoot, { withFileTypes: true, encoding: 'buffer' });
  const classDirs: { name: string; path: Buffer }[] = [];
  for (const e of entries) {
    if (isIgnoredName(e.name.toString('latin1'))) continue;
    const name = displayName(e.name);
    const path = join(absRoot, e.name);
    if (e.isDirectory()) classDirs.push({ name, path });
    else if (e.isSymbolicLink() && (await fs.stat(path).then((st) => st.isDirectory(), () => false))) classDirs.push({ name, path });
    // A file next to the class folders has no class: listed, so that it is not dropped without a trace.
    else skipped.push({ path: name, reason: ROOT_FILE });
  }
  classDirs.sort((a, b) => compareCodePoints(a.name, b.name));

  const walk = async (dir: Buffer, rel: string, label: number, ancestors: ReadonlySet<string>): Promise<void> => {
    let list;
    try {
      list = await fs.readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      skipped.push({ path: rel, reason: `unreadable folder: ${errorMessage(err)}` });
      return;
    }
    const named = list.map((e) => ({ e, name: displayName(e.name) })).sort((a, b) => compareCodePoints(a.name, b.name));
    for (const { e, name } of named) {
      if (isIgnoredName(e.name.toString('latin1'))) continue;
      const full = join(dir, e.name);
      const id = `${rel}/${name}`;
      let kind: 'file' | 'dir' | 'other' = e.isFile() ? 'file' : e.isDirectory() ? 'dir' : 'other';
      let special = kind === 'other' && !e.isSymbolicLink() ? specialFileKind(e) : undefined;
      if (e.isSymbolicLink()) {
        try {
          const st = await fs.stat(full);
          kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
          if (kind === 'other') special = specialFileKind(st);
        } catch (err) {
          const code = (err as { code?: string }).code;
          skipped.push({ path: id, reason: code === 'ELOOP' ? 'symlink loop' : code === 'ENOENT' ? 'broken symlink' : `unreadable: ${errorMessage(err)}` });
          continue;
        }
      }
      if (kind === 'file') files.push({ id, path: full, label });
      else if (kind === 'dir') {
        const real = await realKey(full);
        if (ancestors.has(real) || containsAny(real, ancestors)) {
          skipped.push({ path: id, reason: 'symlink loop (links to a folder that contains it)' });
          continue;
        }
        await walk(full, id, label, new Set([...ancestors, real]));
      } else skipped.push({ path: id, reason: `not a regular file (${special ?? 'unknown kind'})` });
    }
  };
  // A link to a folder above the walk (the dataset root, `/`) would list other classes' files, or the whole disk.
  const sepKey = separator.toString('latin1');
  const containsAny = (real: string, below: ReadonlySet<string>): boolean => {
    const prefix = real.endsWith(sepKey) ? real : real + sepKey;
    for (const path of below) if (path.startsWith(prefix)) return true;
    return false;
  };
  for (let label = 0; label < classDirs.length; label++) {
    const { name, path } = classDirs[label] as { name: string; path: Buffer };
    await walk(path, name, label, new Set([await realKey(path)]));
    onProgress?.({ phase: 'list', done: files.length, total: undefined });
  }
  return { labelNames: classDirs.map((c) => c.name), files, skipped };
}

/**
 * Validates every file with at most `concurrency` in flight: reads it, checks its content is an image, and checks
 * its header (`'header'`) or decodes it at a small size (`'decode'`). Returns a reason per file (undefined = usable).
 */
export async function validateFiles(
  files: readonly FoundFile[],
  level: ValidateMode,
  decoder: DecoderChoice,
  limits: DecodeLimits,
  concurrency: number,
  onProgress: ((e: DataLoaderProgress) => void) | undefined,
): Promise<(string | undefined)[]> {
  const { loadSharp, readImageFile, sharpValidate } = await import('./node-decode');
  const sharp = decoder === 'pure-js' ? undefined : await loadSharp();
  if (!sharp && decoder === 'sharp') {
    const { UnsupportedError } = await import('../errors');
    throw new UnsupportedError("decoder 'sharp' was requested but the sharp package is not installed");
  }
  const { jsDecode } = await import('./js-decode');
  const total = files.length;
  return mapWithConcurrency(
    files,
    concurrency,
    async (file) => {
      try {
        // Regular files only, never blocking, at most maxFileBytes, and anything that is not an image after 64 bytes.
        const bytes = await readImageFile(file.path, limits.maxFileBytes);
        checkDeclaredPixels(bytes, limits.maxPixels);
        const format = sniffFormat(bytes);
        if (sharp) await sharpValidate(sharp, bytes, level, limits.maxPixels);
        else if (level === 'decode' || (format !== 'png' && format !== 'jpeg')) await jsDecode(bytes, limits.maxPixels);
        return undefined;
      } catch (err) {
        if (err instanceof DecodeFailure) return err.message;
        throw err;
      }
    },
    (done) => onProgress?.({ phase: 'validate', done, total }),
  );
}
