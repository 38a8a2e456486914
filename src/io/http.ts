/**
 * Loading a model.json and its shards over http(s), with the same safety checks as the file loader, and in Node an
 * on-disk cache: a download is checked against its manifest, written to a temporary folder and renamed into the
 * cache, so an interrupted download never leaves a broken entry.
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Progress } from '../progress';
import { InvalidArgumentError, LoadError, UnsafeModelError, TlKitError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { FolderWriteFailure, type FolderFile } from './atomic';
import { cacheEntryDir, readModelCacheEntry, resolveCacheDir, writeModelCacheEntry } from './cache';
import { DEFAULT_TIMEOUT_MS, fetchBytes, originsFor, resolveTimeout, type FetchPolicy } from './fetch';
import {
  checkGroupSize,
  checkManifestTotal,
  checkRelativeWeightPath,
  concatBytes,
  expectedGroupBytes,
  expectedWeightBytes,
  parseModelJson,
  toArtifacts,
} from './manifest';
import { isNode } from '../internal/env';

/** Options of {@link httpLoadHandler}. */
export interface HttpLoadOptions {
  /**
   * Download cache folder (Node only), or `false` for no cache. Browsers never cache here (the HTTP cache does).
   * @defaultValue `$TLKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/tl-kit/models`, else `~/.cache/tl-kit/models`
   */
  readonly cacheDir?: string | false;
  /**
   * The fetch function to use (for custom headers, proxies or tests).
   * @defaultValue `globalThis.fetch`
   */
  readonly fetch?: typeof fetch;
  /**
   * Called as the model downloads: `{ phase: 'download', done, total }` counting files (the model.json, then each
   * weight shard); `done` equals `total` at once for a model served from the cache.
   * @defaultValue none
   */
  readonly onProgress?: (progress: Progress<'download'>) => void;
  /**
   * Longest wait, in milliseconds, for each response (connecting included) and for each chunk of a body. A server
   * that stops answering fails the load with a `LoadError` after this long.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number;
  /**
   * More origins (`https://host[:port]`) that redirects may lead to. The model.json's own origin (and its https
   * upgrade) is always allowed; a redirect anywhere else is refused with an `UnsafeModelError`, as a weight path to
   * another host is.
   * @defaultValue none
   */
  readonly allowedOrigins?: readonly string[];
}

/** Largest model.json accepted over HTTP (graph models of large networks stay far below). */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/**
 * An IOHandler that loads a layers or graph `model.json` and its weight shards over http(s), for
 * `tf.loadLayersModel`, `tf.loadGraphModel` or `loadBase`, with the same safety checks as the file loader: weight
 * paths may not leave the model's folder or host, redirects may not lead to another origin (unless listed in
 * `allowedOrigins`), and shards whose sizes disagree with the manifest are refused, with bodies cut off as soon as
 * they exceed what the manifest allows (string weights included: their text may total 8 MiB at most). Every request
 * has a timeout (`timeoutMs`). In Node, downloads are cached on disk with the SHA-256 of every file; a cached entry
 * whose bytes changed is downloaded again.
 *
 * @param url - `http(s)://` URL of the `model.json` (a query string, such as TF Hub's `?tfjs-format=file`, is kept
 *   and appended to every shard URL, as tfjs does).
 * @param options - cache folder, fetch function, progress callback, timeout, extra redirect origins.
 * @returns an IOHandler with a `load` method.
 * @throws {@link InvalidArgumentError} at call time for a `url` that is not an absolute http(s) URL or a bad option.
 * @throws {@link LoadError} from `load()` for an HTTP error, a timeout, a failed or cut-off transfer, or a missing
 *   shard (naming its URL); {@link UnsafeModelError} for an unsafe manifest or a redirect to another origin.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { httpLoadHandler } from 'tl-kit';
 * const model = await tfl.loadLayersModel(httpLoadHandler('https://example.com/base/model.json', { timeoutMs: 60_000 }));
 * ```
 */
export function httpLoadHandler(url: string, options: HttpLoadOptions = {}): tf.io.IOHandler {
  const call = 'httpLoadHandler';
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new InvalidArgumentError(call, 'url', 'an absolute http(s):// URL of a model.json', url);
  }
  checkOptionsObject(call, options);
  checkOptionKeys<HttpLoadOptions>(call, options, HTTP_KEYS);
  checkHttpLoadOptions(call, options);
  return { load: () => loadHttpModel(url, options) };
}

const HTTP_KEYS: Readonly<Record<keyof HttpLoadOptions, true>> = {
  cacheDir: true,
  fetch: true,
  onProgress: true,
  timeoutMs: true,
  allowedOrigins: true,
};

/** Validates the download options shared by {@link httpLoadHandler} and `loadBase`, naming `call`. */
export function checkHttpLoadOptions(call: string, options: HttpLoadOptions): void {
  const { cacheDir, fetch: fetchFn, onProgress, timeoutMs, allowedOrigins } = options;
  if (cacheDir !== undefined && cacheDir !== false && (typeof cacheDir !== 'string' || cacheDir.length === 0)) {
    throw new InvalidArgumentError(call, 'cacheDir', 'a folder path or false', cacheDir);
  }
  if (fetchFn !== undefined && typeof fetchFn !== 'function') throw new InvalidArgumentError(call, 'fetch', 'a function', fetchFn);
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidArgumentError(call, 'onProgress', 'a function', onProgress);
  }
  resolveTimeout(call, timeoutMs);
  if (allowedOrigins !== undefined) {
    const ok =
      Array.isArray(allowedOrigins) &&
      allowedOrigins.every((o) => {
        try {
          const u = new URL(o as string);
          return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === String(o).replace(/\/+$/, '');
        } catch {
          return false;
        }
      });
    if (!ok) throw new InvalidArgumentError(call, 'allowedOrigins', 'a list of origins such as "https://cdn.example.com"', allowedOrigins);
  }
}

async function loadHttpModel(url: string, options: HttpLoadOptions): Promise<tf.io.ModelArtifacts> {
  const cacheDir = isNode() ? await resolveCacheDir(options.cacheDir) : undefined;
  const entry = cacheDir === undefined ? undefined : await cacheEntryDir(cacheDir, url);
  if (entry !== undefined) {
    const cached = await readCached(entry, url);
    if (cached !== undefined) {
      options.onProgress?.({ phase: 'download', done: 1, total: 1 });
      return cached;
    }
  }
  const { model, text, shards } = await download(url, options);
  if (entry !== undefined) {
    const files: FolderFile[] = shards.map((s) => ({ name: s.path, data: s.bytes }));
    try {
      await writeModelCacheEntry(entry, url, text, files);
    } catch (err) {
      const why = err instanceof FolderWriteFailure ? `: ${err.describe()}` : '';
      throw new LoadError(`cannot write the download cache entry for ${url} under ${cacheDir}${why}`, {
        cause: err instanceof FolderWriteFailure ? err.cause : err,
      });
    }
  }
  return toArtifacts(model, concatBytes(shards.map((s) => s.bytes)));
}

/** A cached entry whose files all still have their recorded SHA-256, re-checked against its manifest. */
async function readCached(entry: string, url: string): Promise<tf.io.ModelArtifacts | undefined> {
  const cached = await readModelCacheEntry(entry, url).catch(() => undefined);
  if (cached === undefined) return undefined;
  const files = cached.shards;
  try {
    const model = parseModelJson(cached.modelJson, url);
    checkManifestTotal(model, url);
    const chunks: Uint8Array[] = [];
    for (const group of model.weightsManifest) {
      let size = 0;
      for (const p of group.paths) {
        const bytes = files.get(p);
        if (bytes === undefined) return undefined;
        size += bytes.byteLength;
        chunks.push(bytes);
      }
      checkGroupSize(group, size, url);
    }
    return toArtifacts(model, concatBytes(chunks));
  } catch (err) {
    if (err instanceof TlKitError) return undefined;
    throw err;
  }
}

interface Downloaded {
  readonly model: tf.io.ModelJSON;
  readonly text: string;
  readonly shards: { readonly path: string; readonly bytes: Uint8Array }[];
}

async function download(url: string, options: HttpLoadOptions): Promise<Downloaded> {
  const policy: FetchPolicy = {
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    allowedOrigins: originsFor(url, options.allowedOrigins),
  };
  const base = new URL(url);
  const query = base.search;
  const jsonBytes = await fetchBytes(url, policy, MAX_MODEL_JSON_BYTES, 'a model.json may have');
  const text = new TextDecoder().decode(jsonBytes);
  const model = parseModelJson(text, url);
  const total = expectedWeightBytes(
    model.weightsManifest.flatMap((g) => g.weights),
    url,
  );
  // Check every path and size before downloading one shard.
  const plan = model.weightsManifest.map((group) => {
    const urls = group.paths.map((p) => shardUrl(checkRelativeWeightPath(p, url), base, query, url));
    return { group, urls, range: expectedGroupBytes(group, url) };
  });
  const count = plan.reduce((n, g) => n + g.urls.length, 0);
  let done = 0;
  let downloaded = 0;
  // The model.json is the first file; the shards follow.
  options.onProgress?.({ phase: 'download', done: 1, total: count + 1 });
  const shards: { path: string; bytes: Uint8Array }[] = [];
  for (const { group, urls, range } of plan) {
    let groupBytes = 0;
    for (let i = 0; i < urls.length; i++) {
      // Neither this group nor the whole model may exceed what the manifest allows, whatever it declares.
      const limit = Math.min(range.max - groupBytes, total.max - downloaded);
      const bytes = await fetchBytes(urls[i] as string, policy, limit, 'the manifest allows');
      groupBytes += bytes.byteLength;
      downloaded += bytes.byteLength;
      shards.push({ path: group.paths[i] as string, bytes });
      options.onProgress?.({ phase: 'download', done: ++done + 1, total: count + 1 });
    }
    checkGroupSize(group, groupBytes, url);
  }
  return { model, text, shards };
}

/** The URL of a (checked, relative) shard path: same folder and host as the model.json, with its query string. */
function shardUrl(path: string, base: URL, query: string, where: string): string {
  const resolved = new URL(path, base);
  const folder = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
  if (resolved.origin !== base.origin || !resolved.pathname.startsWith(folder)) {
    throw new UnsafeModelError(`${where}: weight path ${JSON.stringify(path)} leaves the model's folder; refused`);
  }
  resolved.search = query;
  return resolved.href;
}
