/**
 * Downloads a published weight file, checks it against the hash Keras pins, and caches it on disk in Node with the
 * shared model cache of src/io: one entry folder per URL under the cache folder, written by `writeFolderAtomic`
 * (temporary sibling folder, then rename) only after the hash matched, so an interrupted or corrupted download never
 * leaves a cache entry. Internal.
 */
import { LoadError } from '../errors';
import { isNode } from '../internal/env';
import { writeFolderAtomic } from '../io/atomic';
import { cacheEntryDir, resolveCacheDir } from '../io/cache';
import type { ImagenetFile } from './imagenet';


async function md5Hex(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('md5').update(bytes).digest('hex');
}

async function download(call: string, entry: ImagenetFile): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(entry.url);
  } catch (cause) {
    throw new LoadError(`${call}: could not download ${entry.url}`, { cause });
  }
  if (!response.ok) throw new LoadError(`${call}: downloading ${entry.url} failed with HTTP ${response.status}`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    throw new LoadError(`${call}: the download of ${entry.url} was interrupted`, { cause });
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared !== bytes.byteLength) {
    throw new LoadError(`${call}: the download of ${entry.url} ended after ${bytes.byteLength} of ${declared} bytes`);
  }
  return bytes;
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
  try {
    const cached = new Uint8Array(await fs.readFile(target));
    if (entry.md5 === null || (await md5Hex(cached)) === entry.md5) return cached;
    // A cached file that no longer matches (e.g. Keras re-published it) is replaced, as Keras's get_file does.
  } catch {
    // not cached yet
  }
  const bytes = await download(call, entry);
  if (entry.md5 !== null) {
    const got = await md5Hex(bytes);
    if (got !== entry.md5) {
      throw new LoadError(`${call}: ${entry.fileName} has MD5 ${got}, Keras pins ${entry.md5}; refusing it`);
    }
  }
  try {
    await writeFolderAtomic(folder, [{ name: entry.fileName, data: bytes }]);
  } catch (cause) {
    throw new LoadError(`${call}: could not write ${target} into the weights cache`, { cause });
  }
  return bytes;
}
