/**
 * Turns a Keras file source (bytes, a URL, or a path in Node) into bytes. Internal.
 */
import { InvalidArgumentError, LoadError, TlKitError, UnsupportedError } from '../errors';
import { DEFAULT_TIMEOUT_MS, HttpStatusError, fetchBytes, resolveTimeout } from '../io/fetch';
import { toFsPath } from '../io/file-handler';
import { FileReadError, readRegularFile } from '../io/read-file';
import { isNode } from '../internal/env';
import { rootReason } from '../internal/cause';
import { namedBy } from '../internal/named-error';

/**
 * Where a Keras file comes from: its bytes, an `http(s)://` URL, a `file://` URL, or a file path (Node only).
 *
 * @category bases
 */
export type KerasFileSource = string | URL | ArrayBuffer | Uint8Array;

/** True when `value` can be a {@link KerasFileSource}. */
export function isKerasFileSource(value: unknown): value is KerasFileSource {
  return (
    (typeof value === 'string' && value.length > 0) ||
    value instanceof URL ||
    value instanceof ArrayBuffer ||
    value instanceof Uint8Array
  );
}

/** A short description of a source for error messages. */
export function describeSource(source: KerasFileSource): string {
  if (typeof source === 'string') return JSON.stringify(source);
  if (source instanceof URL) return JSON.stringify(source.href);
  return `${source.byteLength} bytes`;
}

/**
 * Default of the `maxBytes` option of the Keras loaders (2 GiB): the largest file, download or `.keras` archive
 * entry they read. Keras's largest published application files stay well below it.
 */
export const MAX_KERAS_FILE_BYTES = 2 * 1024 ** 3;

/** Limits on reading one Keras file. */
export interface ReadLimits {
  /** Most bytes read from a file or download (and inflated from an archive entry). */
  readonly maxBytes: number;
  /** Longest wait for a response and for each chunk of a download, in ms. */
  readonly timeoutMs: number;
}

/** The limits to use when the caller set none. */
export const DEFAULT_READ_LIMITS: ReadLimits = { maxBytes: MAX_KERAS_FILE_BYTES, timeoutMs: DEFAULT_TIMEOUT_MS };

/**
 * The two size and time options every Keras loader takes.
 *
 * @category bases
 */
export interface KerasReadOptions {
  /**
   * Most bytes read from the file or download, and inflated from a `.keras` archive entry; a larger file, or an
   * archive entry that inflates further (a zip bomb), is refused with a `LoadError` before it costs more memory.
   * @defaultValue 2147483648 (2 GiB)
   */
  readonly maxBytes?: number;
  /**
   * For URL sources: longest wait, in milliseconds, for the response and for each chunk of the body.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number;
}

/** Validates `maxBytes` and `timeoutMs` of a Keras loader's options and returns the limits to use. */
export function readLimits(call: string, options: KerasReadOptions): ReadLimits {
  const { maxBytes, timeoutMs } = options;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
    throw new InvalidArgumentError(call, 'maxBytes', 'a positive integer number of bytes', maxBytes);
  }
  return { maxBytes: maxBytes ?? MAX_KERAS_FILE_BYTES, timeoutMs: resolveTimeout(call, timeoutMs) };
}

/**
 * Reads `source` into bytes, at most `limits.maxBytes` of them. Paths and `file://` URLs need Node (node:fs is
 * imported lazily) and must be regular files: a FIFO or device is refused without blocking on it. URLs are
 * downloaded with the download timeout; redirects are followed (the URL names one file, with no manifest).
 */
export async function readSourceBytes(
  call: string,
  option: string,
  source: KerasFileSource,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (!isKerasFileSource(source)) {
    throw new InvalidArgumentError(call, option, 'a path, a URL, an ArrayBuffer or a Uint8Array', source);
  }
  const href = source instanceof URL ? source.href : source;
  if (/^https?:\/\//i.test(href)) {
    try {
      return await fetchBytes(href, { fetch: globalThis.fetch.bind(globalThis), timeoutMs: limits.timeoutMs }, limits.maxBytes, 'maxBytes allows');
    } catch (cause) {
      if (cause instanceof HttpStatusError) {
        throw new LoadError(`${call}: fetching ${href} failed with HTTP ${cause.status}`, { cause });
      }
      if (cause instanceof TlKitError) throw namedBy(call, cause);
      throw new LoadError(`${call}: could not fetch ${href}`, { cause });
    }
  }
  if (!isNode()) {
    throw new UnsupportedError(`${call}: ${option} ${JSON.stringify(href)} is a file path; in a browser pass a URL or bytes`);
  }
  // file:///abs, file://./rel and file://rel as loadBase reads them; a malformed one is an argument error.
  const path = /^file:/i.test(href) ? await toFsPath(call, option, href) : href;
  const shown = JSON.stringify(path);
  try {
    return await readRegularFile(path, limits.maxBytes);
  } catch (cause) {
    if (!(cause instanceof FileReadError)) throw cause;
    const failure = cause.failure;
    if (failure.kind === 'folder' || failure.kind === 'special') throw new LoadError(`${call}: ${shown} is not a regular file`);
    if (failure.kind === 'too-large') {
      throw new LoadError(
        failure.size === undefined
          ? `${call}: ${shown} grew past maxBytes (${limits.maxBytes}) while it was read`
          : `${call}: ${shown} has ${failure.size} bytes, more than maxBytes (${limits.maxBytes})`,
      );
    }
    const hint = option === 'weights' && !/[\\/.]/.test(path) ? " (weights must be null, 'imagenet', or a path, URL or bytes of a weights file)" : '';
    throw new LoadError(`${call}: could not read ${shown} (${rootReason(failure.error)})${hint}`, { cause: failure.error });
  }
}
