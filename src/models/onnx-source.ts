/**
 * The bytes of an ONNX file from where `loadOnnxBase` is told to find them: bytes, a path or `file://` URL (Node),
 * or an `http(s)://` URL. Downloads are bounded (size limit, a timeout between chunks) and, in Node, kept in the model
 * cache of `src/io` (`<cacheDir>/<host_path>-<hash>/model.onnx`, written atomically after the file was checked, and
 * checked again when reused). Internal.
 */
import { InvalidArgumentError, LoadError, TlKitError, UnsafeModelError, UnsupportedError } from '../errors';
import type { Progress } from '../progress';
import { rootReason } from '../internal/cause';
import { isNode } from '../internal/env';
import { writeFolderAtomic } from '../io/atomic';
import { cacheEntryDir, resolveCacheDir } from '../io/cache';

/** Where the bytes come from. */
export type OnnxSource = string | Uint8Array | ArrayBuffer;

/** How to read a source. */
export interface OnnxSourceOptions {
  readonly cacheDir: string | false | undefined;
  readonly fetch: typeof fetch | undefined;
  readonly onProgress: ((progress: Progress<'download'>) => void) | undefined;
  /** Largest file accepted. */
  readonly maxBytes: number;
  /** Longest wait for the response and for each chunk of a download, in milliseconds. */
  readonly timeoutMs: number;
  /** Checks the bytes (throws when they are not a usable ONNX file): before caching, and on reuse. */
  readonly check: (bytes: Uint8Array, where: string) => Promise<void>;
}

const CACHE_FILE = 'model.onnx';
const EXPECTED = 'a path, a file:// or http(s):// URL, or the bytes of an ONNX file (Uint8Array or ArrayBuffer)';

/** The bytes of `source` and a short name for it (the file name, or `'bytes'`). */
export async function readOnnxSource(call: string, source: OnnxSource, options: OnnxSourceOptions): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: 'bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: 'bytes' };
  if (typeof source !== 'string' || source.length === 0) throw new InvalidArgumentError(call, 'source', EXPECTED, source);
  const name = source.replace(/[?#].*$/, '').split(/[/\\]/).pop() || source;
  if (/^https?:\/\//i.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new InvalidArgumentError(call, 'source', EXPECTED, source);
    }
    return { bytes: await readUrl(call, url.href, options), name };
  }
  if (/^[a-z][a-z0-9+.-]+:/i.test(source) && !/^file:/i.test(source) && !/^[a-z]:[\\/]/i.test(source)) {
    throw new InvalidArgumentError(call, 'source', EXPECTED, source);
  }
  if (!isNode()) throw new UnsupportedError(`${call}: reading ${source} needs Node's file system; in a browser, pass the bytes or an http(s) URL`);
  let path = source;
  if (/^file:/i.test(source)) {
    const { fileURLToPath } = await import('node:url');
    try {
      path = fileURLToPath(source);
    } catch (err) {
      throw new InvalidArgumentError(call, 'source', `${EXPECTED} (${(err as Error).message})`, source);
    }
  }
  return { bytes: await readFile(call, path, options.maxBytes), name };
}

async function readFile(call: string, path: string, maxBytes: number): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  let handle: Awaited<ReturnType<typeof fs.open>> | undefined;
  try {
    handle = await fs.open(path, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) throw new LoadError(`${call}: ${path} is not a file`);
    if (stat.size > maxBytes) throw new LoadError(`${call}: ${path} holds ${stat.size} bytes, more than the ${maxBytes} allowed; refused`);
    return new Uint8Array(await handle.readFile());
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: cannot read ${path} (${rootReason(err)})`, { cause: err });
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function readUrl(call: string, url: string, options: OnnxSourceOptions): Promise<Uint8Array> {
  const cacheDir = isNode() && options.cacheDir !== false ? await resolveCacheDir(options.cacheDir) : undefined;
  if (cacheDir === undefined) return download(call, url, options);
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const folder = await cacheEntryDir(cacheDir, url);
  const file = join(folder, CACHE_FILE);
  let cached: Uint8Array | undefined;
  try {
    cached = await readFile(call, file, options.maxBytes);
    await options.check(cached, file);
    options.onProgress?.({ phase: 'download', done: cached.byteLength, total: cached.byteLength });
    return cached;
  } catch (err) {
    // Absent: download it. Present but unreadable or not a usable ONNX file: drop the entry and download again.
    if (cached !== undefined || (err as { cause?: { code?: string } }).cause?.code !== 'ENOENT') {
      await fs.rm(folder, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const bytes = await download(call, url, options);
  await options.check(bytes, url);
  try {
    await writeFolderAtomic(folder, [{ name: CACHE_FILE, data: bytes }]);
  } catch (err) {
    throw new LoadError(`${call}: cannot write the download cache entry for ${url} under ${cacheDir} (${rootReason(err)})`, { cause: err });
  }
  return bytes;
}

/** GETs `url` whole, refusing more than `maxBytes` and giving up when the server is silent for `timeoutMs`. */
async function download(call: string, url: string, options: OnnxSourceOptions): Promise<Uint8Array> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const { maxBytes, timeoutMs } = options;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let rejectStall: (err: Error) => void = () => undefined;
  // Rejects when no response or chunk arrived in time, also when a custom fetch ignores the abort signal.
  const stalled = new Promise<never>((_, reject) => {
    rejectStall = reject;
  });
  stalled.catch(() => undefined);
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const err = new LoadError(`${call}: the download of ${url} stalled: nothing arrived for ${timeoutMs} ms`);
      controller.abort(err);
      rejectStall(err);
    }, timeoutMs);
    (timer as { unref?: () => void }).unref?.();
  };
  options.onProgress?.({ phase: 'download', done: 0, total: undefined });
  arm();
  try {
    let response: Response;
    try {
      response = await Promise.race([fetchFn(url, { signal: controller.signal }), stalled]);
    } catch (err) {
      if (err instanceof TlKitError) throw err;
      throw new LoadError(`${call}: cannot download ${url} (${rootReason(err)})`, { cause: err });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new LoadError(`${call}: cannot download ${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }
    // Content-Length counts encoded bytes: trust it for identity bodies only.
    const encoding = response.headers.get('content-encoding');
    const declared = encoding === null || encoding === 'identity' ? Number(response.headers.get('content-length') ?? NaN) : NaN;
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new UnsafeModelError(`${call}: ${url} is ${declared} bytes, more than the ${maxBytes} allowed; refused`);
    }
    if (response.body === null) throw new LoadError(`${call}: ${url} sent no body`);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let received = 0;
    for (;;) {
      arm();
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await Promise.race([reader.read(), stalled]);
      } catch (err) {
        await reader.cancel().catch(() => undefined);
        if (err instanceof TlKitError) throw err;
        throw new LoadError(`${call}: the download of ${url} was cut off after ${received} bytes (${rootReason(err)})`, { cause: err });
      }
      if (step.done) break;
      received += step.value.byteLength;
      if (received > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new UnsafeModelError(`${call}: ${url} sends more than the ${maxBytes} bytes allowed; refused`);
      }
      chunks.push(step.value);
      options.onProgress?.({ phase: 'download', done: received, total: Number.isFinite(declared) ? declared : undefined });
    }
    if (Number.isFinite(declared) && received !== declared) {
      throw new LoadError(`${call}: the download of ${url} was cut off: got ${received} of ${declared} bytes`);
    }
    const bytes = new Uint8Array(received);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    options.onProgress?.({ phase: 'download', done: received, total: received });
    return bytes;
  } finally {
    clearTimeout(timer);
  }
}
