/**
 * Atomic writes for Node. A folder (a saved model, a cache entry) is written as a new version in a hidden temporary
 * sibling (`.name.tmp-<pid>-<host>-<random>`), flushed, and switched into place by rename. Replacing an existing
 * folder takes two renames (the old one moves aside to `.name.old-*` first, since no file system renames a folder
 * over a non-empty one); a crash between them leaves the previous version in its `.old-*` folder, and
 * {@link recoverFolder} (run by every save and every load of that folder) renames it back. Folders whose owner
 * process is gone are removed by the same step. A reader that still sees no folder because a live process is between
 * its two renames reads the `.old-*` version (see {@link readFolderVersion}).
 *
 * Node-only: `node:fs` is imported lazily.
 */

/** A file to write: its name inside the folder and its bytes (or UTF-8 text). */
export interface FolderFile {
  /** Relative file name inside the folder; `a/b.bin` creates subfolder `a`. Callers pass checked names only. */
  readonly name: string;
  /** Content. */
  readonly data: Uint8Array | string;
}

/** The file-system calls the atomic writer makes; tests swap in slow or failing ones (see {@link setAtomicFs}). */
export type AtomicFs = Pick<
  typeof import('node:fs/promises'),
  'mkdir' | 'open' | 'rename' | 'rm' | 'readdir' | 'stat' | 'writeFile'
>;

let override: AtomicFs | undefined;

/**
 * Replaces the file-system calls of this module (`undefined` restores `node:fs/promises`). For fault-injection tests
 * only: slowed renames for crash tests, a full disk for ENOSPC tests. Internal, not exported by the package.
 */
export function setAtomicFs(fs: AtomicFs | undefined): void {
  override = fs;
}

async function afs(): Promise<AtomicFs> {
  return override ?? (await import('node:fs/promises'));
}

/** Why a folder write failed, and what is left at the target. Internal: the public calls turn it into a tl-kit error. */
export class FolderWriteFailure extends Error {
  /**
   * @param target - the folder that was to be written.
   * @param kept - `'previous'`: the target holds what it held before; `'none'`: there was nothing and still is.
   * @param cause - the file-system error.
   */
  constructor(
    readonly target: string,
    readonly kept: 'previous' | 'none',
    cause: unknown,
  ) {
    super(`cannot write ${target}`, { cause });
    this.name = 'FolderWriteFailure';
  }

  /** The file-system error code (`ENOSPC`, `EACCES`...), if any. */
  get code(): string | undefined {
    const code = (this.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : undefined;
  }

  /** A sentence for error messages: why, and what was kept. */
  describe(): string {
    const why = describeFsError(this.cause);
    const kept =
      this.kept === 'previous'
        ? 'the previous version there is kept unchanged and the partial copy was removed'
        : 'nothing was written there and the partial copy was removed';
    return `${why}; ${kept}`;
  }
}

/**
 * Why a file-system call failed, in words for an error message: the disk is full, a part of the path is a file, no
 * permission, or the error's own message. Internal.
 */
export function describeFsError(err: unknown): string {
  const raw = (err as { code?: unknown } | undefined)?.code;
  const code = typeof raw === 'string' ? raw : undefined;
  const message = (err as Error | undefined)?.message ?? String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the disk is full (${code})`;
  if (code === 'ENOTDIR') return `a part of the path is a file, not a folder (${message})`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `no permission to write there (${message})`;
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}

let hostTag: string | undefined;

/**
 * `h` + 8 hex digits of the host name, part of every temporary and old folder's name: pids are only meaningful on
 * the machine that wrote them.
 */
export async function ownHost(): Promise<string> {
  if (hostTag === undefined) {
    const { createHash } = await import('node:crypto');
    const os = await import('node:os');
    hostTag = `h${createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8)}`;
  }
  return hostTag;
}

async function sidecarName(base: string, kind: 'tmp' | 'old'): Promise<string> {
  const random = Math.random().toString(36).slice(2, 10).padEnd(8, '0');
  return `.${base}.${kind}-${process.pid}-${await ownHost()}-${random}`;
}

interface Sidecar {
  readonly name: string;
  readonly kind: 'tmp' | 'old';
  readonly pid: number;
  /** Host tag, or undefined for folders written by an older tl-kit (pid and time only). */
  readonly host: string | undefined;
}

/** The `.base.tmp-*` / `.base.old-*` siblings of a folder named `base`. */
function parseSidecar(entry: string, base: string): Sidecar | undefined {
  const prefix = `.${base}.`;
  if (!entry.startsWith(prefix)) return undefined;
  const match = /^(tmp|old)-(\d+)-([0-9a-z]+)-([0-9a-z]+)$/.exec(entry.slice(prefix.length));
  if (match === null) return undefined;
  const tag = match[3] as string;
  return {
    name: entry,
    kind: match[1] as 'tmp' | 'old',
    pid: Number(match[2]),
    host: /^h[0-9a-f]{8}$/.test(tag) ? tag : undefined,
  };
}

/** Whether the process that named a sidecar may still be working on it (unknown hosts count as alive). */
async function ownerAlive(sidecar: Sidecar): Promise<boolean> {
  if (sidecar.host !== undefined && sidecar.host !== (await ownHost())) return true;
  if (sidecar.pid === process.pid) return true;
  try {
    process.kill(sidecar.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What {@link recoverFolder} found. */
export interface Recovery {
  /** True when a crashed save's previous version was renamed back to the target. */
  readonly restored: boolean;
  /** Stale temporary and old folders removed. */
  readonly removed: number;
  /**
   * An `.old-*` version owned by a live process, when the target is missing: that process is between its two
   * renames, and this is the last complete version until it finishes.
   */
  readonly liveOld: string | undefined;
  /** True when a live process has a temporary or old version next to the target (a save is under way). */
  readonly busy: boolean;
}

/**
 * Repairs what crashed writers left next to `target`: when `target` is missing, the newest `.old-*` version whose
 * owner is dead is renamed back to it; every other `.tmp-*` / `.old-*` sibling whose owner is dead is removed.
 * Siblings of live processes are left alone. Never throws for a missing parent folder.
 */
export async function recoverFolder(target: string): Promise<Recovery> {
  const fs = await afs();
  const path = await import('node:path');
  const absolute = path.resolve(target);
  const parent = path.dirname(absolute);
  const base = path.basename(absolute);
  let entries: string[];
  try {
    entries = await fs.readdir(parent);
  } catch {
    return { restored: false, removed: 0, liveOld: undefined, busy: false };
  }
  const sidecars = entries.map((e) => parseSidecar(e, base)).filter((s): s is Sidecar => s !== undefined);
  if (sidecars.length === 0) return { restored: false, removed: 0, liveOld: undefined, busy: false };
  const exists = async (p: string) => fs.stat(p).then(() => true, () => false);
  let targetExists = await exists(absolute);
  const dead: Sidecar[] = [];
  let liveOld: string | undefined;
  let busy = false;
  for (const s of sidecars) {
    if (await ownerAlive(s)) {
      busy = true;
      if (s.kind === 'old') liveOld = path.join(parent, s.name);
    } else {
      dead.push(s);
    }
  }
  let restored = false;
  if (!targetExists) {
    const olds = dead.filter((s) => s.kind === 'old');
    const times = await Promise.all(olds.map((s) => fs.stat(path.join(parent, s.name)).then((st) => st.mtimeMs, () => -1)));
    const newest = olds[times.indexOf(Math.max(...times))];
    if (newest !== undefined) {
      try {
        await fs.rename(path.join(parent, newest.name), absolute);
        restored = true;
        targetExists = true;
        dead.splice(dead.indexOf(newest), 1);
      } catch {
        // Someone else restored or wrote the target meanwhile: the old version is then stale like the rest.
        targetExists = await exists(absolute);
      }
    }
  }
  let removed = 0;
  for (const s of dead) {
    try {
      await fs.rm(path.join(parent, s.name), { recursive: true, force: true });
      removed++;
    } catch {
      // A folder we may not delete (permissions) stays; it is not in the way of anything.
    }
  }
  return { restored, removed, liveOld: targetExists ? undefined : liveOld, busy };
}

/**
 * Writes `files` into a new version of folder `target` and switches it into place, replacing an existing folder.
 * Before writing, stale versions left by crashed writers are recovered or removed ({@link recoverFolder}). At every
 * moment a reader finds the complete previous or the complete new folder (through {@link readFolderVersion} while a
 * live writer is between its two renames).
 *
 * @throws {@link FolderWriteFailure} saying what the target still holds.
 */
export async function writeFolderAtomic(target: string, files: readonly FolderFile[]): Promise<void> {
  const fs = await afs();
  const path = await import('node:path');
  const absolute = path.resolve(target);
  const parent = path.dirname(absolute);
  const base = path.basename(absolute);
  await recoverFolder(absolute);
  const hadPrevious = await fs.stat(absolute).then(() => true, () => false);
  const failure = (err: unknown) => new FolderWriteFailure(absolute, hadPrevious ? 'previous' : 'none', err);
  try {
    await fs.mkdir(parent, { recursive: true });
  } catch (err) {
    throw failure(err);
  }
  const tmp = path.join(parent, await sidecarName(base, 'tmp'));
  try {
    await fs.mkdir(tmp);
    for (const file of files) {
      const full = path.join(tmp, file.name);
      await fs.mkdir(path.dirname(full), { recursive: true });
      const handle = await fs.open(full, 'wx');
      try {
        await handle.writeFile(file.data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    await syncDir(tmp);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw failure(err);
  }
  try {
    await replaceFolder(fs, tmp, absolute, await sidecarName(base, 'old'));
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw failure(err);
  }
  await syncDir(parent);
}

/** Renames folder `from` to `to`, moving an existing `to` aside to sibling `oldName` first and deleting it after. */
async function replaceFolder(fs: AtomicFs, from: string, to: string, oldName: string): Promise<void> {
  const path = await import('node:path');
  try {
    await fs.rename(from, to);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EISDIR') throw err;
  }
  const old = path.join(path.dirname(to), oldName);
  await fs.rename(to, old);
  try {
    await fs.rename(from, to);
  } catch (err) {
    await fs.rename(old, to).catch(() => undefined);
    throw err;
  }
  await fs.rm(old, { recursive: true, force: true }).catch(() => undefined);
}

/** fsyncs a folder so that renames into it survive a power cut; a no-op where folders cannot be opened (Windows). */
async function syncDir(dir: string): Promise<void> {
  const fs = await afs();
  try {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported on this platform or file system: the renames are still atomic, only less durable.
  }
}

/** Identity of a folder version: a replaced folder is a different inode, and a renamed one gets a new ctime. */
async function versionOf(dir: string): Promise<string> {
  const st = await (await afs()).stat(dir);
  return `${st.dev}:${st.ino}:${st.ctimeMs}`;
}

/**
 * Reads one consistent version of folder `dir` with `read` (which gets the folder to read from): recovers crashed
 * saves first, reads the `.old-*` version while a live writer is between its two renames, and reads again when the
 * folder was replaced during the read, so `read` never sees files of two versions. An error of `read` on a folder
 * that did not change under it propagates.
 */
export async function readFolderVersion<T>(dir: string, read: (folder: string) => Promise<T>): Promise<T> {
  const path = await import('node:path');
  const absolute = path.resolve(dir);
  let lastError: unknown;
  for (let attempt = 0; attempt < 6; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    const recovery = await recoverFolder(absolute).catch(() => undefined);
    const folder = recovery?.liveOld ?? absolute;
    const before = await versionOf(folder).catch(() => undefined);
    try {
      const result = await read(folder);
      if (before !== undefined && (await versionOf(folder).catch(() => undefined)) === before) return result;
      lastError = undefined;
    } catch (err) {
      // Nothing is being written next to it, or it did not change while read: the error is the folder's own.
      if (before === undefined && recovery?.busy !== true) throw err;
      if (before !== undefined && (await versionOf(folder).catch(() => undefined)) === before) throw err;
      lastError = err;
    }
  }
  if (lastError !== undefined) throw lastError;
  return read(absolute);
}

/**
 * Writes one file atomically: a temporary sibling (`.name.tmp-*`), flushed, then renamed over `file`. On any failure
 * the temporary file is removed and `file` keeps its previous content.
 *
 * @throws {@link FolderWriteFailure} saying whether a previous file was kept.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const fs = await afs();
  const path = await import('node:path');
  const absolute = path.resolve(file);
  await recoverFolder(absolute);
  const hadPrevious = await fs.stat(absolute).then(() => true, () => false);
  const tmp = path.join(path.dirname(absolute), await sidecarName(path.basename(absolute), 'tmp'));
  try {
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, absolute);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new FolderWriteFailure(absolute, hadPrevious ? 'previous' : 'none', err);
  }
}
