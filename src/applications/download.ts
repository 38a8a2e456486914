/**
 * Downloads a published weight file, checks it against the hash Keras pins, and caches it on disk in Node with the
 * shared model cache of src/io: one entry folder per URL under the cache folder, written atomically (temporary
 * sibling folder, then rename) only after the hash matched, so an interrupted or corrupted download never leaves a
 * cache entry. A file Keras pins no hash for is cached with the SHA-256 recorded at download, and served again only
 * while it still has it. Every request has the default download timeout and the Keras file size cap. Internal.
 */
import { LoadError, TlKitError, UnsafeModelError } from '../errors';
import { isNode } from '../internal/env';
import { FolderWriteFailure, writeFolderAtomic } from '../io/atomic';
import { cacheEntryDir, readFileCacheEntry, resolveCacheDir, writeFileCacheEntry } from '../io/cache';
import { DEFAULT_TIMEOUT_MS, HttpStatusError, fetchBytes } from '../io/fetch';
import { MAX_KERAS_FILE_BYTES } from '../keras/source';
import type { ImagenetFile } from './imagenet';

async function md5Hex(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('md5').update(bytes).digest('hex');
}

async function download(call: string, entry: ImagenetFile): Promise<Uint8Array> {
  const policy = { fetch: globalThis.fetch.bind(globalThis), timeoutMs: DEFAULT_TIMEOUT_MS };
  try {
    return await fetchBytes(entry.url, policy, MAX_KERAS_FILE_BYTES, 'a Keras weights file may have');
  } catch (cause) {
    if (cause instanceof HttpStatusError) {
      throw new LoadError(`${call}: downloading ${entry.url} failed with HTTP ${cause.status}`, { cause });
    }
    if (cause instanceof UnsafeModelError) throw new UnsafeModelError(`${call}: ${cause.message}`, { cause });
    if (cause instanceof TlKitError && /cut off|stalled/.test(cause.message)) {
      throw new LoadError(`${call}: the download of ${entry.url} was interrupted (${cause.message})`, { cause });
    }
    throw new LoadError(`${call}: could not download ${entry.url} (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
}

function cacheWriteError(call: string, target: string, err: unknown): LoadError {
  const why = err instanceof FolderWriteFailure ? `: ${err.describe()}` : '';
  return new LoadError(`${call}: could not write ${target} into the weights cache${why}`, {
    cause: err instanceof FolderWriteFailure ? err.cause : err,
  });
}

/**
 * Returns the bytes of `entry`: from the cache when present and intact, else downloaded, hash-checked and cached.
 * In a browser the file is fetched without cache and without hash check (WebCrypto has no MD5).
 */
export async function fetchWeightsFile(call: string, entry: ImagenetFile, cacheDir: string | undefined): Promise<Uint8Array> {
  if (!isNode()) return download(call, entry);
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const folder = await cacheEntryDir((await resolveCacheDir(cacheDir)) as string, entry.url);
  const target = join(folder, entry.fileName);
  if (entry.md5 !== null) {
    try {
      const cached = new Uint8Array(await fs.readFile(target));
      if ((await md5Hex(cached)) === entry.md5) return cached;
      // A cached file that no longer matches (e.g. Keras re-published it) is replaced, as Keras's get_file does.
    } catch {
      // not cached yet
    }
  } else {
    const cached = (await readFileCacheEntry(folder, entry.url).catch(() => undefined))?.get(entry.fileName);
    if (cached !== undefined) return cached;
  }
  const bytes = await download(call, entry);
  if (entry.md5 !== null) {
    const got = await md5Hex(bytes);
    if (got !== entry.md5) {
      throw new LoadError(`${call}: ${entry.fileName} has MD5 ${got}, Keras pins ${entry.md5}; refusing it`);
    }
  }
  try {
    if (entry.md5 !== null) await writeFolderAtomic(folder, [{ name: entry.fileName, data: bytes }]);
    else await writeFileCacheEntry(folder, entry.url, [{ name: entry.fileName, data: bytes }]);
  } catch (err) {
    throw cacheWriteError(call, target, err);
  }
  return bytes;
}
