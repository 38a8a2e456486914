/**
 * One bounded, never-blocking read of a regular file for every loader (images, Keras files, ONNX files), whatever the
 * path points to now (a file can be swapped for a FIFO after a folder scan):
 * - the file is opened with `O_NONBLOCK` (a FIFO without a writer opens at once) and the opened handle is checked
 *   with `fstat`: only a regular file is read;
 * - `inspectHead`, when given, sees the first bytes before anything else is read (a 1.5 GB file that is not an image
 *   costs 64 bytes);
 * - a file larger than `maxBytes` is refused before it is read, and a file that grows while it is read is cut off at
 *   `maxBytes + 1` bytes and refused.
 * Callers word the failures their way from {@link FileReadError.failure}. Node only; internal.
 */

/** Why a read failed. */
export type FileReadFailure =
  | { readonly kind: 'fs'; readonly error: unknown }
  | { readonly kind: 'folder' }
  | { readonly kind: 'special'; readonly what: string }
  | { readonly kind: 'too-large'; readonly size: number | undefined };

/** A failed {@link readRegularFile}; `failure` says why (`size` is undefined when the file grew while read). */
export class FileReadError extends Error {
  constructor(readonly failure: FileReadFailure) {
    super(failure.kind === 'fs' ? String((failure.error as Error | undefined)?.message ?? failure.error) : failure.kind, {
      cause: failure.kind === 'fs' ? failure.error : undefined,
    });
    this.name = 'FileReadError';
  }
}

/** Options of {@link readRegularFile}. */
export interface ReadRegularFileOptions {
  /** How many leading bytes {@link ReadRegularFileOptions.inspectHead} sees. */
  readonly headBytes?: number;
  /** Sees the first bytes (fewer for a short file) before the size check and the rest; throws to refuse the file. */
  readonly inspectHead?: (head: Uint8Array) => void;
}

let fsModules: Promise<[typeof import('node:fs/promises'), typeof import('node:fs')]> | undefined;

/** node:fs and node:fs/promises, imported once: a dynamic import per file costs more than reading a small image. */
function fileSystem(): Promise<[typeof import('node:fs/promises'), typeof import('node:fs')]> {
  fsModules ??= Promise.all([import('node:fs/promises'), import('node:fs')]);
  return fsModules;
}

/** What kind of special file a stat describes. */
export function specialFileKind(st: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a file or folder';
}

/**
 * The bytes of the regular file at `path` (a Buffer for names that are not valid UTF-8), at most `maxBytes` of them.
 *
 * @throws {@link FileReadError} for a file-system error, a folder, a special file, or a file over `maxBytes`;
 *   whatever `inspectHead` throws, unchanged.
 */
export async function readRegularFile(path: string | Uint8Array, maxBytes: number, options: ReadRegularFileOptions = {}): Promise<Uint8Array> {
  const [fs, { constants }] = await fileSystem();
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(path as string | Buffer, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new FileReadError({ kind: 'fs', error });
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new FileReadError({ kind: 'folder' });
    if (!st.isFile()) throw new FileReadError({ kind: 'special', what: specialFileKind(st) });
    let filled = 0;
    let buffer = new Uint8Array(0);
    if (options.inspectHead) {
      buffer = new Uint8Array(Math.min(options.headBytes ?? 64, maxBytes + 1));
      filled = (await handle.read(buffer, 0, buffer.length, 0)).bytesRead;
      try {
        options.inspectHead(buffer.subarray(0, filled));
      } catch (error) {
        throw new Refused(error);
      }
    }
    if (st.size > maxBytes) throw new FileReadError({ kind: 'too-large', size: st.size });
    // One byte more than expected shows a file that grew since the stat.
    const grown = new Uint8Array(Math.min(Math.max(st.size, filled) + 1, maxBytes + 1));
    grown.set(buffer.subarray(0, filled));
    buffer = grown;
    for (;;) {
      if (filled === buffer.length) {
        if (buffer.length > maxBytes) throw new FileReadError({ kind: 'too-large', size: undefined });
        const larger = new Uint8Array(Math.min(buffer.length * 2, maxBytes + 1));
        larger.set(buffer);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } catch (error) {
    if (error instanceof FileReadError) throw error;
    if (error instanceof Refused) throw error.error;
    throw new FileReadError({ kind: 'fs', error });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** What `inspectHead` threw, carried past the catch that words file-system errors. */
class Refused {
  constructor(readonly error: unknown) {}
}
