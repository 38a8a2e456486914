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
import type { DecoderChoice } from './decode';
import { compareCodePoints } from './label-order';
import type { DataLoaderProgress, SkippedFile, ValidateMode } from './loader-types';
import { sniffFormat } from './pixels';

/** A file found under a class folder. */
export interface FoundFile {
  /** Path relative to the root, `/`-separated: the sample id. */
  readonly id: string;
  /** Absolute path. */
  readonly path: string;
  /** Class index. */
  readonly label: number;
}

const isHidden = (name: string): boolean => name.startsWith('.');

/** Lists class folders and every non-hidden file under them; problems with entries become skipped files. */
export async function listDirectory(
  call: string,
  root: string,
  onProgress: ((e: DataLoaderProgress) => void) | undefined,
): Promise<{ labelNames: string[]; files: FoundFile[]; skipped: SkippedFile[] }> {
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const absRoot = nodePath.resolve(root);
  let rootStat;
  try {
    rootStat = await fs.stat(absRoot);
  } catch (err) {
    throw new DatasetError(`${call}: root ${JSON.stringify(root)} does not exist or cannot be read`, { cause: err });
  }
  if (!rootStat.isDirectory()) throw new DatasetError(`${call}: root ${JSON.stringify(root)} is not a folder`);
  const skipped: SkippedFile[] = [];
  const files: FoundFile[] = [];
  const entries = await fs.readdir(absRoot, { withFileTypes: true });
  const classDirs: string[] = [];
  for (const e of entries) {
    if (isHidden(e.name)) continue;
    if (e.isDirectory()) classDirs.push(e.name);
    else if (e.isSymbolicLink()) {
      try {
        if ((await fs.stat(nodePath.join(absRoot, e.name))).isDirectory()) classDirs.push(e.name);
      } catch {
        // A broken link at the root is not under a class folder: ignored like other root-level files.
      }
    }
  }
  classDirs.sort(compareCodePoints);

  const walk = async (dir: string, rel: string, label: number, ancestors: ReadonlySet<string>): Promise<void> => {
    let list;
    try {
      list = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      skipped.push({ path: rel, reason: `unreadable folder: ${errorMessage(err)}` });
      return;
    }
    list.sort((a, b) => compareCodePoints(a.name, b.name));
    for (const e of list) {
      if (isHidden(e.name)) continue;
      const full = nodePath.join(dir, e.name);
      const id = `${rel}/${e.name}`;
      let kind: 'file' | 'dir' | 'other' = e.isFile() ? 'file' : e.isDirectory() ? 'dir' : 'other';
      if (e.isSymbolicLink()) {
        try {
          const st = await fs.stat(full);
          kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
        } catch (err) {
          const code = (err as { code?: string }).code;
          skipped.push({ path: id, reason: code === 'ELOOP' ? 'symlink loop' : code === 'ENOENT' ? 'broken symlink' : `unreadable: ${errorMessage(err)}` });
          continue;
        }
      }
      if (kind === 'file') files.push({ id, path: full, label });
      else if (kind === 'dir') {
        const real = await fs.realpath(full).catch(() => full);
        if (ancestors.has(real)) {
          skipped.push({ path: id, reason: 'symlink loop (links to a folder that contains it)' });
          continue;
        }
        await walk(full, id, label, new Set([...ancestors, real]));
      } else skipped.push({ path: id, reason: 'not a regular file' });
    }
  };
  for (let label = 0; label < classDirs.length; label++) {
    const name = classDirs[label] as string;
    const full = nodePath.join(absRoot, name);
    const real = await fs.realpath(full).catch(() => full);
    await walk(full, name, label, new Set([real]));
    onProgress?.({ phase: 'list', done: files.length, total: undefined });
  }
  return { labelNames: classDirs, files, skipped };
}

/**
 * Validates every file with at most `concurrency` in flight: reads it, checks its content is an image, and checks
 * its header (`'header'`) or decodes it at a small size (`'decode'`). Returns a reason per file (undefined = usable).
 */
export async function validateFiles(
  files: readonly FoundFile[],
  level: ValidateMode,
  decoder: DecoderChoice,
  concurrency: number,
  onProgress: ((e: DataLoaderProgress) => void) | undefined,
): Promise<(string | undefined)[]> {
  const { loadSharp, readFileBytes, sharpValidate } = await import('./node-decode');
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
        const bytes = await readFileBytes(file.path);
        if (bytes.byteLength === 0) return 'empty file (0 bytes)';
        const format = sniffFormat(bytes);
        if (!format) return 'not a supported image (content is not JPEG, PNG, WebP, GIF, TIFF or HEIF)';
        if (sharp) await sharpValidate(sharp, bytes, level);
        else if (level === 'decode' || (format !== 'png' && format !== 'jpeg')) await jsDecode(bytes);
        return undefined;
      } catch (err) {
        if (err instanceof DecodeFailure) return err.message;
        throw err;
      }
    },
    (done) => onProgress?.({ phase: 'validate', done, total }),
  );
}
