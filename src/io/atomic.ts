/**
 * Atomic folder writes for Node: files go to a hidden temporary sibling folder, are flushed, and the folder is renamed
 * into place, so a crash or an interrupted download never leaves a half-written model where a reader looks.
 * Node-only: `node:fs` is imported lazily.
 */

/** A file to write: its name inside the folder and its bytes (or UTF-8 text). */
export interface FolderFile {
  /** Relative file name inside the folder; `a/b.bin` creates subfolder `a`. Callers pass checked names only. */
  readonly name: string;
  /** Content. */
  readonly data: Uint8Array | string;
}

function uniqueSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Writes `files` into a temporary sibling of `target` and renames it to `target`, replacing an existing folder. At
 * every moment `target` is either absent, the old complete folder, or the new complete folder.
 */
export async function writeFolderAtomic(target: string, files: readonly FolderFile[]): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const absolute = path.resolve(target);
  const parent = path.dirname(absolute);
  const base = path.basename(absolute);
  await fs.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${base}.tmp-${uniqueSuffix()}`);
  await fs.mkdir(tmp);
  try {
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
    await replaceFolder(tmp, absolute);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Renames folder `from` to `to`, moving an existing `to` aside first and deleting it afterwards. */
async function replaceFolder(from: string, to: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  try {
    await fs.rename(from, to);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EISDIR') throw err;
  }
  const old = path.join(path.dirname(to), `.${path.basename(to)}.old-${uniqueSuffix()}`);
  await fs.rename(to, old);
  try {
    await fs.rename(from, to);
  } catch (err) {
    await fs.rename(old, to).catch(() => undefined);
    throw err;
  }
  await fs.rm(old, { recursive: true, force: true });
}
