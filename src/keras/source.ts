/**
 * Turns a Keras file source (bytes, a URL, or a path in Node) into bytes. Internal.
 */
import { InvalidArgumentError, LoadError, UnsupportedError } from '../errors';
import { isNode } from '../internal/env';
import { rootReason } from '../internal/cause';

/**
 * Where a Keras file comes from: its bytes, an `http(s)://` URL, a `file://` URL, or a file path (Node only).
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

/** Reads `source` into bytes. Paths and `file://` URLs need Node (node:fs is imported lazily). */
export async function readSourceBytes(call: string, option: string, source: KerasFileSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (!isKerasFileSource(source)) {
    throw new InvalidArgumentError(call, option, 'a path, a URL, an ArrayBuffer or a Uint8Array', source);
  }
  const href = source instanceof URL ? source.href : source;
  if (/^https?:\/\//i.test(href)) {
    let response: Response;
    try {
      response = await fetch(href);
    } catch (cause) {
      throw new LoadError(`${call}: could not fetch ${href}`, { cause });
    }
    if (!response.ok) throw new LoadError(`${call}: fetching ${href} failed with HTTP ${response.status}`);
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      throw new LoadError(`${call}: the download of ${href} was interrupted`, { cause });
    }
  }
  if (!isNode()) {
    throw new UnsupportedError(`${call}: ${option} ${JSON.stringify(href)} is a file path; in a browser pass a URL or bytes`);
  }
  const { readFile } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const path = /^file:\/\//i.test(href) ? fileURLToPath(href) : href;
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    const hint = option === 'weights' && !/[\\/.]/.test(path) ? " (weights must be null, 'imagenet', or a path, URL or bytes of a weights file)" : '';
    throw new LoadError(`${call}: could not read ${JSON.stringify(path)} (${rootReason(cause)})${hint}`, { cause });
  }
}
