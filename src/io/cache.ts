/**
 * Where downloaded models live in Node (like Keras's `~/.keras/models`): one folder per model URL, named after the
 * URL's host and path plus a hash, holding `model.json` and its shards under their manifest names. The size and
 * SHA-256 of every file are recorded at download, inside the same atomic write: for a model in its `model.json`
 * (a `tlKitCache` field, which tfjs ignores, so the folder stays a plain tfjs model that can be copied and served),
 * for a single downloaded file in a `tlkit-cache-index.json` next to it. An entry is served only while every file
 * still has its recorded hash; otherwise it is removed and downloaded again.
 */
import { InvalidArgumentError } from '../errors';
import { writeFolderAtomic, type FolderFile } from './atomic';

/** Name of the index file of a single-file cache entry. No weight file may have this name. */
export const CACHE_INDEX = 'tlkit-cache-index.json';

/** The `model.json` field that records the hashes of a cached model. */
const MODEL_FIELD = 'tlKitCache';

type FileHashes = Readonly<Record<string, { readonly bytes: number; readonly sha256: string }>>;

interface CacheIndex {
  readonly format: 'tl-kit-cache';
  readonly version: 1;
  readonly url: string;
  /** For a model: SHA-256 of `JSON.stringify` of its model.json without this field. */
  readonly modelJson?: string;
  readonly files: FileHashes;
}

/**
 * The cache folder to use: `option` when it is a string, nothing when `false`, else `$TLKIT_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/tl-kit/models`, else `~/.cache/tl-kit/models`.
 */
export async function resolveCacheDir(option: string | false | undefined): Promise<string | undefined> {
  if (option === false) return undefined;
  if (option !== undefined) {
    if (typeof option !== 'string' || option.length === 0) {
      throw new InvalidArgumentError('loadBase', 'cacheDir', 'a folder path or false', option);
    }
    return option;
  }
  const env = process.env;
  if (env['TLKIT_CACHE_DIR']) return env['TLKIT_CACHE_DIR'];
  const path = await import('node:path');
  if (env['XDG_CACHE_HOME']) return path.join(env['XDG_CACHE_HOME'], 'tl-kit', 'models');
  const os = await import('node:os');
  return path.join(os.homedir(), '.cache', 'tl-kit', 'models');
}

/** The cache folder of one model URL: `<cacheDir>/<host_path_slug>-<sha256(url) prefix>`. */
export async function cacheEntryDir(cacheDir: string, url: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const path = await import('node:path');
  const parsed = new URL(url);
  const slug = `${parsed.host}${parsed.pathname}`
    .replace(/\/model\.json$/, '')
    .replace(/[^a-zA-Z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(-80);
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return path.join(cacheDir, `${slug}-${hash}`);
}

async function sha256(data: Uint8Array | string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}

async function hashes(files: readonly FolderFile[]): Promise<FileHashes> {
  const entries = await Promise.all(
    files.map(async (f) => {
      const bytes = typeof f.data === 'string' ? new TextEncoder().encode(f.data) : f.data;
      return [f.name, { bytes: bytes.byteLength, sha256: await sha256(bytes) }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Reads every file of `index` from `dir`; undefined as soon as one is missing or differs from its record. */
async function verifiedFiles(dir: string, index: FileHashes): Promise<Map<string, Uint8Array> | undefined> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const files = new Map<string, Uint8Array>();
  for (const [name, expected] of Object.entries(index)) {
    // Names were checked manifest paths when written; an index edited to point elsewhere is not followed.
    if (path.isAbsolute(name) || name.split(/[\\/]/).includes('..')) return undefined;
    const bytes = await fs.readFile(path.join(dir, name)).then((b) => new Uint8Array(b), () => undefined);
    if (bytes === undefined || bytes.byteLength !== expected.bytes || (await sha256(bytes)) !== expected.sha256) return undefined;
    files.set(name, bytes);
  }
  return files;
}

async function removeEntry(dir: string): Promise<undefined> {
  const fs = await import('node:fs/promises');
  await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  return undefined;
}

/**
 * Writes a downloaded model (its model.json text and its shards) as one atomic cache entry, with the hashes of every
 * file recorded in the cached model.json.
 */
export async function writeModelCacheEntry(dir: string, url: string, modelJson: string, shards: readonly FolderFile[]): Promise<void> {
  const json = JSON.parse(modelJson) as Record<string, unknown>;
  delete json[MODEL_FIELD];
  const canonical = JSON.stringify(json);
  const index: CacheIndex = { format: 'tl-kit-cache', version: 1, url, modelJson: await sha256(canonical), files: await hashes(shards) };
  await writeFolderAtomic(dir, [{ name: 'model.json', data: JSON.stringify({ ...json, [MODEL_FIELD]: index }) }, ...shards]);
}

/**
 * A cached model whose model.json and shards all still have the hashes recorded at download: the model.json text
 * (without the hash record) and the shards by manifest path. Undefined when absent; an entry that cannot be verified
 * (damaged, or written by an older tl-kit without hashes) is removed and undefined returned.
 */
export async function readModelCacheEntry(
  dir: string,
  url: string,
): Promise<{ readonly modelJson: string; readonly shards: Map<string, Uint8Array> } | undefined> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const { recoverFolder } = await import('./atomic');
  await recoverFolder(dir).catch(() => undefined);
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, 'model.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const index = json[MODEL_FIELD] as Partial<CacheIndex> | undefined;
    delete json[MODEL_FIELD];
    const canonical = JSON.stringify(json);
    if (index?.format !== 'tl-kit-cache' || index.url !== url || index.modelJson !== (await sha256(canonical))) {
      return await removeEntry(dir);
    }
    const shards = await verifiedFiles(dir, index.files ?? {});
    if (shards === undefined) return await removeEntry(dir);
    return { modelJson: canonical, shards };
  } catch {
    return await removeEntry(dir);
  }
}

/** Writes single downloaded files (no manifest) as one atomic cache entry, with their hashes in {@link CACHE_INDEX}. */
export async function writeFileCacheEntry(dir: string, url: string, files: readonly FolderFile[]): Promise<void> {
  const index: CacheIndex = { format: 'tl-kit-cache', version: 1, url, files: await hashes(files) };
  await writeFolderAtomic(dir, [...files, { name: CACHE_INDEX, data: JSON.stringify(index) }]);
}

/** The files of a single-file cache entry, verified against {@link CACHE_INDEX}; undefined (and removed) otherwise. */
export async function readFileCacheEntry(dir: string, url: string): Promise<Map<string, Uint8Array> | undefined> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const { recoverFolder } = await import('./atomic');
  await recoverFolder(dir).catch(() => undefined);
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, CACHE_INDEX), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const index = JSON.parse(text) as Partial<CacheIndex>;
    if (index.format !== 'tl-kit-cache' || index.url !== url || typeof index.files !== 'object' || index.files === null) {
      return await removeEntry(dir);
    }
    return (await verifiedFiles(dir, index.files)) ?? (await removeEntry(dir));
  } catch {
    return await removeEntry(dir);
  }
}
