/**
 * Zip extraction that cannot write outside its target folder ("zip slip"): every entry name is checked before a
 * single byte is written, names that are absolute, contain `..` segments, backslashes or NUL, and symbolic-link
 * entries are refused, and the whole archive goes to a temporary folder that is renamed into place at the end.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/** An archive entry that would land outside the target folder, or a link that could point there. */
export class UnsafeArchiveError extends Error {
  override readonly name = 'UnsafeArchiveError';
  /** The offending entry name as stored in the archive. */
  readonly entry: string;
  constructor(entry: string, reason: string) {
    super(`refusing archive entry '${entry}': ${reason}`);
    this.entry = entry;
  }
}

/** Options of {@link extractZip}. */
export interface ExtractOptions {
  /** Keep only entries for which this returns true (names use `/`). @defaultValue every file */
  readonly filter?: (name: string) => boolean;
  /** Called after each written file with the count so far and the number of entries. */
  readonly onProgress?: (written: number, entries: number) => void;
}

/** What {@link extractZip} did. */
export interface ExtractResult {
  /** The target folder. */
  readonly dest: string;
  /** Files written (0 when `cached`). */
  readonly files: number;
  /** True when the target folder already existed: nothing was extracted. */
  readonly cached: boolean;
}

/**
 * The path an entry would be written to inside `root`, or an {@link UnsafeArchiveError} when it would escape.
 *
 * @param root absolute target folder
 * @param name entry name as stored in the archive
 */
export function safeEntryPath(root: string, name: string): string {
  if (name.includes('\0')) throw new UnsafeArchiveError(name, 'NUL character in the name');
  if (name.includes('\\')) throw new UnsafeArchiveError(name, 'backslash in the name');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name) || isAbsolute(name)) {
    throw new UnsafeArchiveError(name, 'absolute path');
  }
  if (name.split('/').includes('..')) throw new UnsafeArchiveError(name, "'..' path segment");
  const target = resolve(root, name);
  const rel = relative(root, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new UnsafeArchiveError(name, 'resolves outside the target folder');
  }
  return target;
}

/**
 * Extracts `zipPath` into `dest`. Every entry is validated first (nothing is written for an archive with one unsafe
 * entry); files then go to `<dest>.partial-<pid>`, renamed to `dest` when complete. A `dest` that already exists is
 * taken as a finished extraction and left alone.
 *
 * @param zipPath the archive
 * @param dest target folder (created; must not exist yet)
 * @param options entry filter and progress
 * @returns the folder and the number of files written
 * @throws {UnsafeArchiveError} for an entry that would escape `dest` or a symbolic-link entry
 */
export async function extractZip(zipPath: string, dest: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const root = resolve(dest);
  if (await exists(root)) return { dest: root, files: 0, cached: true };
  const filter = options.filter ?? (() => true);

  // Pass 1: read the central directory only and refuse the archive if any entry is unsafe.
  let entries = 0;
  await forEachEntry(zipPath, async (entry) => {
    entries++;
    const name = entryName(entry);
    safeEntryPath(root, name);
    if (isSymlink(entry)) throw new UnsafeArchiveError(name, 'symbolic link entry');
  });

  // Pass 2: write into a temporary sibling folder, then rename.
  const tmp = `${root}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  let written = 0;
  try {
    await forEachEntry(zipPath, async (entry, zip) => {
      const name = entryName(entry);
      const target = safeEntryPath(tmp, name);
      if (name.endsWith('/')) {
        await mkdir(target, { recursive: true });
        return;
      }
      if (!filter(name)) return;
      await mkdir(dirname(target), { recursive: true });
      const stream = await new Promise<NodeJS.ReadableStream>((done, fail) => {
        zip.openReadStream(entry, (error, s) => (error ? fail(error) : done(s)));
      });
      await pipeline(stream, createWriteStream(target, { flags: 'wx' }));
      written++;
      options.onProgress?.(written, entries);
    });
    await rename(tmp, root);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  return { dest: root, files: written, cached: false };
}

/** Visits the entries one at a time (yauzl's lazy mode), awaiting `visit` before reading the next. */
function forEachEntry(
  zipPath: string,
  visit: (entry: yauzl.Entry, zip: yauzl.ZipFile) => Promise<void>,
): Promise<void> {
  return new Promise((done, fail) => {
    yauzl.open(zipPath, { lazyEntries: true, decodeStrings: false, autoClose: false }, (openError, zip) => {
      if (openError) return fail(openError);
      const finish = (error?: unknown): void => {
        zip.close();
        if (error === undefined) done();
        else fail(error);
      };
      zip.on('error', finish);
      zip.on('end', () => finish());
      zip.on('entry', (entry: yauzl.Entry) => {
        visit(entry, zip).then(() => zip.readEntry(), finish);
      });
      zip.readEntry();
    });
  });
}

function entryName(entry: yauzl.Entry): string {
  const raw = entry.fileNameRaw;
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, false);
}

function isSymlink(entry: yauzl.Entry): boolean {
  // Unix mode bits live in the high 16 bits of the external attributes; S_IFLNK = 0o120000.
  return ((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
