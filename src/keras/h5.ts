/**
 * Reads an HDF5 file (bytes) into a plain tree with h5wasm, a maintained WebAssembly build of the HDF5 C library.
 * h5wasm is an optional peer dependency, imported lazily the first time an `.h5` file is read. Internal.
 */
import { LoadError, TlKitError, UnsupportedError } from '../errors';
import { importOptional } from '../internal/optional-import';

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

/**
 * Opens HDF5 bytes, calls `use` with the root group, then closes the file and frees its memory. Dataset values must
 * be read before the promise `use` returns settles.
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
      file = new h5.File(name, 'r');
    } catch (cause) {
      throw new LoadError(`${call}: the data is not a readable HDF5 file (${bytes.byteLength} bytes)`, { cause });
    }
    try {
      return await use(wrapGroup(h5, file));
    } catch (cause) {
      if (cause instanceof TlKitError) throw cause;
      throw new LoadError(`${call}: could not read the HDF5 file`, { cause });
    }
  } finally {
    try {
      file?.close();
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
  for (const [key, attr] of Object.entries(group.attrs)) attrs[key] = normaliseAttr(attr.value);
  let children: Map<string, H5Group | H5Dataset> | undefined;
  return {
    kind: 'group',
    attrs,
    get children() {
      if (children === undefined) {
        children = new Map();
        for (const key of group.keys()) {
          const entity = group.get(key);
          if (entity instanceof h5.Group) children.set(key, wrapGroup(h5, entity));
          else if (entity instanceof h5.Dataset) children.set(key, wrapDataset(entity));
        }
      }
      return children;
    },
  };
}

function wrapDataset(dataset: InstanceType<H5wasmModule['Dataset']>): H5Dataset {
  return {
    kind: 'dataset',
    shape: dataset.shape ?? [],
    read() {
      const value = dataset.value;
      if (value instanceof Float32Array) return value;
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        return Float32Array.from(value as unknown as ArrayLike<number>, Number);
      }
      if (typeof value === 'number') return Float32Array.of(value);
      throw new LoadError(`dataset ${dataset.path} holds ${String(dataset.dtype)} values, not numbers`);
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
