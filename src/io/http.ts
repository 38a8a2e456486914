/**
 * Loading a model.json and its shards over http(s), with the same safety checks as the file loader, and in Node an
 * on-disk cache: a download is checked against its manifest, written to a temporary folder and renamed into the
 * cache, so an interrupted download never leaves a broken entry.
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, LoadError, UnsafeModelError, TlKitError } from '../errors';
import { checkOptionsObject } from '../internal/validate';
import { writeFolderAtomic, type FolderFile } from './atomic';
import { cacheEntryDir, resolveCacheDir } from './cache';
import { checkRelativeWeightPath, concatBytes, expectedGroupBytes, parseModelJson, toArtifacts } from './manifest';
import { rootReason } from '../internal/cause';
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
   * Called with the fraction of weight shards downloaded, from 0 to 1.
   * @defaultValue none
   */
  readonly onProgress?: (fraction: number) => void;
}

/** Largest model.json accepted over HTTP (graph models of large networks stay far below). */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;


/**
 * An IOHandler that loads a layers or graph `model.json` from an `http(s)://` URL, refusing weight paths that leave
 * the model's folder or host and shards whose sizes disagree with the manifest. In Node, downloads are cached on
 * disk and reused (each reuse re-checks the entry against its manifest).
 *
 * @param url - `http(s)://` URL of the `model.json` (a query string, such as TF Hub's `?tfjs-format=file`, is kept
 *   and appended to every shard URL, as tfjs does).
 * @param options - cache folder, fetch function, progress callback.
 * @returns an IOHandler with a `load` method.
 * @throws {@link InvalidArgumentError} at call time for a `url` that is not an absolute http(s) URL or a bad option.
 * @throws {@link LoadError} from `load()` for an HTTP error, a failed or cut-off transfer, or a missing shard (naming
 *   its URL); {@link UnsafeModelError} for an unsafe manifest.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { httpLoadHandler } from 'tl-kit';
 * const model = await tfl.loadLayersModel(httpLoadHandler('https://example.com/base/model.json'));
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
  checkHttpLoadOptions(call, options);
  return { load: () => loadHttpModel(url, options) };
}

/** Validates the download options shared by {@link httpLoadHandler} and `loadBase`, naming `call`. */
export function checkHttpLoadOptions(call: string, options: HttpLoadOptions): void {
  const { cacheDir, fetch: fetchFn, onProgress } = options;
  if (cacheDir !== undefined && cacheDir !== false && (typeof cacheDir !== 'string' || cacheDir.length === 0)) {
    throw new InvalidArgumentError(call, 'cacheDir', 'a folder path or false', cacheDir);
  }
  if (fetchFn !== undefined && typeof fetchFn !== 'function') throw new InvalidArgumentError(call, 'fetch', 'a function', fetchFn);
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidArgumentError(call, 'onProgress', 'a function', onProgress);
  }
}

async function loadHttpModel(url: string, options: HttpLoadOptions): Promise<tf.io.ModelArtifacts> {
  const cacheDir = isNode() ? await resolveCacheDir(options.cacheDir) : undefined;
  if (cacheDir !== undefined) {
    const cached = await readCached(cacheDir, url);
    if (cached !== undefined) {
      options.onProgress?.(1);
      return cached;
    }
  }
  const { model, text, shards } = await download(url, options);
  if (cacheDir !== undefined) {
    const files: FolderFile[] = [{ name: 'model.json', data: text }, ...shards.map((s) => ({ name: s.path, data: s.bytes }))];
    try {
      await writeFolderAtomic(await cacheEntryDir(cacheDir, url), files);
    } catch (err) {
      throw new LoadError(`cannot write the download cache entry for ${url} under ${cacheDir}`, { cause: err });
    }
  }
  return toArtifacts(model, concatBytes(shards.map((s) => s.bytes)));
}

/** A cached entry, re-checked against its manifest; undefined (and removed) when absent or broken. */
async function readCached(cacheDir: string, url: string): Promise<tf.io.ModelArtifacts | undefined> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const { readModelFolder } = await import('./file-handler');
  const dir = await cacheEntryDir(cacheDir, url);
  try {
    await fs.access(path.join(dir, 'model.json'));
  } catch {
    return undefined;
  }
  try {
    return await readModelFolder(path.join(dir, 'model.json'));
  } catch (err) {
    if (!(err instanceof TlKitError)) throw err;
    await fs.rm(dir, { recursive: true, force: true });
    return undefined;
  }
}

interface Downloaded {
  readonly model: tf.io.ModelJSON;
  readonly text: string;
  readonly shards: { readonly path: string; readonly bytes: Uint8Array }[];
}

async function download(url: string, options: HttpLoadOptions): Promise<Downloaded> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const base = new URL(url);
  const query = base.search;
  const jsonBytes = await fetchBytes(fetchFn, url, MAX_MODEL_JSON_BYTES, 'a model.json may have');
  const text = new TextDecoder().decode(jsonBytes);
  const model = parseModelJson(text, url);
  // Check every path and size before downloading one shard.
  const plan = model.weightsManifest.map((group) => {
    const urls = group.paths.map((p) => shardUrl(checkRelativeWeightPath(p, url), base, query, url));
    return { group, urls, expected: expectedGroupBytes(group, url) };
  });
  const total = plan.reduce((n, g) => n + g.urls.length, 0);
  let done = 0;
  options.onProgress?.(0);
  const shards: { path: string; bytes: Uint8Array }[] = [];
  for (const { group, urls, expected } of plan) {
    let groupBytes = 0;
    for (let i = 0; i < urls.length; i++) {
      const limit = expected === undefined ? undefined : expected - groupBytes;
      const bytes = await fetchBytes(fetchFn, urls[i] as string, limit, 'the manifest allows');
      groupBytes += bytes.byteLength;
      shards.push({ path: group.paths[i] as string, bytes });
      options.onProgress?.(++done / total);
    }
    if (expected !== undefined && groupBytes !== expected) {
      throw new UnsafeModelError(
        `${url}: weight shards [${group.paths.join(', ')}] hold ${groupBytes} bytes but the manifest's shapes and dtypes need ${expected}; refused`,
      );
    }
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

/**
 * GETs `url` fully. Refuses (before reading further) a body longer than `limit` bytes, so a lying server cannot make
 * us buffer more than the manifest allows.
 */
async function fetchBytes(
  fetchFn: typeof fetch,
  url: string,
  limit: number | undefined,
  limitWhy: string,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchFn(url);
  } catch (err) {
    throw new LoadError(`cannot download ${url} (${rootReason(err)})`, { cause: err });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new LoadError(`cannot download ${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  // Content-Length counts encoded bytes; with gzip/br the decoded body is longer, so only trust it for identity bodies.
  const encoding = response.headers.get('content-encoding');
  const declared =
    encoding === null || encoding === 'identity' ? Number(response.headers.get('content-length') ?? NaN) : NaN;
  if (limit !== undefined && Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new UnsafeModelError(`${url}: the server sends ${declared} bytes but ${limitWhy} ${limit}; refused`);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    if (response.body === null) return new Uint8Array(await response.arrayBuffer());
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (limit !== undefined && received > limit) {
        await reader.cancel().catch(() => undefined);
        throw new UnsafeModelError(`${url}: the server sends more than the ${limit} bytes ${limitWhy}; refused`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`download of ${url} was cut off after ${received} bytes`, { cause: err });
  }
  if (Number.isFinite(declared) && received !== declared) {
    throw new LoadError(`download of ${url} was cut off: got ${received} of ${declared} bytes`);
  }
  return new Uint8Array(concatBytes(chunks));
}
