/**
 * Reads an HDF5 file (bytes) into a plain tree with h5wasm, a maintained WebAssembly build of the HDF5 C library.
 * h5wasm is an optional peer dependency, imported lazily the first time an `.h5` file is read. Internal.
 */
import { LoadError, TlKitError, UnsupportedError } from '../errors';
import { importOptional } from '../internal/optional-import';
import { isNode } from '../internal/env';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` carry the HDF5 signature at offset 0 or at a user-block offset (512, 1024, 2048, ...). */
export function isHdf5(bytes: Uint8Array): boolean {
  for (let offset = 0; offset + SIGNATURE.length <= bytes.length; offset = offset === 0 ? 512 : offset * 2) {
    if (SIGNATURE.every((b, i) => bytes[offset + i] === b)) return true;
  }
  return false;
}

/** A dataset: its shape and its values as float32 (Keras weights are float32; float64/float16 are converted). */
export interface H5Dataset {
  readonly kind: 'dataset';
  readonly shape: readonly number[];
  /** Reads the values (copied out of the wasm heap). */
  read(): Float32Array;
}

/** A group: attributes (strings, numbers or arrays of them) and children in the file's link order. */
export interface H5Group {
  readonly kind: 'group';
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly children: ReadonlyMap<string, H5Group | H5Dataset>;
}

type H5wasmModule = typeof import('h5wasm');

let h5wasmPromise: Promise<H5wasmModule> | undefined;
let fileCounter = 0;

/** h5wasm ships ES modules only; it is imported out of bundlers' sight (see importOptional). */
async function importH5wasm(): Promise<H5wasmModule> {
  return importOptional<H5wasmModule>('h5wasm');
}

async function loadH5wasm(call: string): Promise<H5wasmModule> {
  h5wasmPromise ??= importH5wasm().then(async (mod) => {
    await mod.ready;
    return mod;
  });
  try {
    return await h5wasmPromise;
  } catch (cause) {
    h5wasmPromise = undefined;
    throw new UnsupportedError(
      `${call}: reading .h5 files needs the optional peer dependency 'h5wasm' (npm install h5wasm@^0.10)`,
      { cause },
    );
  }
}

interface ErrorSwitch {
  activate_throwing_error_handler?: () => number;
  deactivate_throwing_error_handler?: () => number;
}

/**
 * Runs one synchronous h5wasm call without letting it print. HDF5 prints its error stack to stderr by default, which
 * h5wasm's Emscripten runtime sends to the console; a library must not. During the call HDF5 raises errors as
 * exceptions instead (h5wasm's throwing error handler) and, in Node, anything written to stdout or stderr is
 * captured; a failure carries the captured text in its message. No other JavaScript runs during the call, so nothing
 * else is silenced.
 */
function quiet<T>(h5: H5wasmModule, what: string, fn: () => T): T {
  const module = h5.Module as unknown as ErrorSwitch | undefined;
  const captured: string[] = [];
  const proc = isNode() ? (globalThis as { process?: NodeJS.Process }).process : undefined;
  const streams = proc === undefined ? [] : [proc.stdout, proc.stderr];
  const writes = streams.map((s) => s.write);
  for (const stream of streams) {
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk as Uint8Array));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  module?.activate_throwing_error_handler?.();
  try {
    return fn();
  } catch (cause) {
    const text = [cause instanceof Error ? cause.message : String(cause), ...captured].join('\n');
    throw new H5CallError(what, summarise(text), cause);
  } finally {
    module?.deactivate_throwing_error_handler?.();
    streams.forEach((s, i) => (s.write = writes[i] as typeof s.write));
  }
}

/** The innermost HDF5 reason of an error stack ("bad superblock version number"), or its first line. */
function summarise(text: string): string {
  const reasons = [...text.matchAll(/in (\w+)\(\): ([^\n]+)/g)].map((m) => m[2]?.trim() ?? '');
  const last = reasons[reasons.length - 1];
  if (last) return last;
  return text.split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 200) ?? 'unknown HDF5 error';
}

/** An h5wasm call that failed: `detail` is HDF5's own reason, the cause keeps h5wasm's full error. */
class H5CallError extends Error {
  constructor(
    readonly what: string,
    readonly detail: string,
    cause: unknown,
  ) {
    super(`${what}: ${detail}`, { cause });
  }
}

/**
 * Opens HDF5 bytes, calls `use` with the root group, then closes the file and frees its memory. Dataset values must
 * be read before the promise `use` returns settles. Nothing is printed: HDF5's diagnostics end up in the error.
 */
export async function withH5File<T>(
  call: string,
  bytes: Uint8Array,
  use: (root: H5Group) => T | Promise<T>,
): Promise<T> {
  if (!isHdf5(bytes)) {
    throw new LoadError(`${call}: the data is not an HDF5 (.h5) or .keras file (${bytes.byteLength} bytes)`);
  }
  const h5 = await loadH5wasm(call);
  const fs = h5.FS;
  if (fs === null) throw new UnsupportedError(`${call}: h5wasm did not initialise its file system`);
  const name = `/tlkit-${++fileCounter}-${Math.random().toString(36).slice(2, 10)}.h5`;
  let file: InstanceType<H5wasmModule['File']> | undefined;
  try {
    fs.writeFile(name, bytes);
    try {
      file = quiet(h5, 'open', () => new h5.File(name, 'r'));
    } catch (cause) {
      const detail = cause instanceof H5CallError ? ` (${cause.detail})` : '';
      throw new LoadError(`${call}: the data is not a readable HDF5 file (${bytes.byteLength} bytes)${detail}`, { cause });
    }
    try {
      return await use(wrapGroup(h5, file));
    } catch (cause) {
      if (cause instanceof TlKitError) throw cause;
      const detail = cause instanceof H5CallError ? ` (${cause.what}: ${cause.detail})` : '';
      throw new LoadError(`${call}: could not read the HDF5 file${detail}`, { cause });
    }
  } finally {
    try {
      const opened = file;
      if (opened !== undefined) quiet(h5, 'close', () => opened.close());
    } catch {
      // closing a file that failed to read: nothing more to free
    } finally {
      try {
        fs.unlink(name);
      } catch {
        // the file was never written: nothing to free
      }
    }
  }
}

function wrapGroup(h5: H5wasmModule, group: InstanceType<H5wasmModule['Group']>): H5Group {
  const attrs: Record<string, unknown> = {};
  quiet(h5, `attributes of ${group.path}`, () => {
    for (const [key, attr] of Object.entries(group.attrs)) attrs[key] = normaliseAttr(attr.value);
  });
  let children: Map<string, H5Group | H5Dataset> | undefined;
  return {
    kind: 'group',
    attrs,
    get children() {
      if (children === undefined) {
        const found = new Map<string, H5Group | H5Dataset>();
        for (const key of quiet(h5, `members of ${group.path}`, () => group.keys())) {
          const entity = quiet(h5, `${group.path}/${key}`, () => group.get(key));
          if (entity instanceof h5.Group) found.set(key, wrapGroup(h5, entity));
          else if (entity instanceof h5.Dataset) found.set(key, wrapDataset(h5, entity));
        }
        children = found;
      }
      return children;
    },
  };
}

function wrapDataset(h5: H5wasmModule, dataset: InstanceType<H5wasmModule['Dataset']>): H5Dataset {
  return {
    kind: 'dataset',
    shape: quiet(h5, `shape of ${dataset.path}`, () => dataset.shape) ?? [],
    read() {
      const value = quiet(h5, `values of ${dataset.path}`, () => dataset.value);
      if (value instanceof Float32Array) return value;
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        return Float32Array.from(value as unknown as ArrayLike<number>, Number);
      }
      if (typeof value === 'number' || typeof value === 'bigint') return Float32Array.of(Number(value));
      throw new LoadError(`dataset ${dataset.path} holds ${String(quiet(h5, 'dtype', () => dataset.dtype))} values, not numbers`);
    },
  };
}

/** Attributes come back as strings, string arrays, numbers or typed arrays; typed arrays become plain arrays. */
function normaliseAttr(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

/** Follows `path` (slash-separated) from `root`; undefined when any step is missing. */
export function h5Get(root: H5Group, path: string): H5Group | H5Dataset | undefined {
  let node: H5Group | H5Dataset | undefined = root;
  for (const part of path.split('/')) {
    if (part === '') continue;
    if (node === undefined || node.kind !== 'group') return undefined;
    node = node.children.get(part);
  }
  return node;
}

/** Reads an attribute as a list of strings (Keras stores layer and weight names as string arrays). */
export function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}
