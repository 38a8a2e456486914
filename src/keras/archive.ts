/**
 * Reads Keras 3 `.keras` archives (zip: `config.json`, `metadata.json`, `model.weights.h5`) with fflate, an optional
 * peer dependency imported lazily. Entries are inflated as a stream, in small slices, counting the bytes: an entry
 * that declares more than the limit is refused before inflating, and one that inflates past its declared size or
 * the limit is stopped there, so a small zip that inflates to gigabytes (a zip bomb) costs a few megabytes at most.
 * Internal.
 */
import { LoadError, UnsupportedError } from '../errors';
import { importOptional } from '../internal/optional-import';

/** True when `bytes` start like a zip file. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** The entries of a `.keras` archive that tl-kit reads. */
export interface KerasArchive {
  /** The parsed `config.json`. */
  readonly config: unknown;
  /** The bytes of `model.weights.h5`. */
  readonly weights: Uint8Array;
}

/** Largest `config.json` read from an archive: configs of the largest Keras applications are a few megabytes. */
const MAX_CONFIG_BYTES = 64 * 1024 ** 2;

/**
 * Compressed bytes handed to the inflater at a time. Deflate expands at most about 1032:1, so one slice inflates to
 * at most ~16 MiB before the count is checked.
 */
const SLICE = 16 * 1024;

async function loadFflate(call: string): Promise<typeof import('fflate')> {
  try {
    return await importOptional<typeof import('fflate')>('fflate');
  } catch (cause) {
    throw new UnsupportedError(
      `${call}: reading .keras archives needs the optional peer dependency 'fflate' (npm install fflate@^0.8)`,
      { cause },
    );
  }
}

/**
 * Inflates the entries of `bytes` named in `limits` (name -> most bytes it may inflate to), refusing an entry that
 * declares or inflates to more, or more than it declared. Entries not named are skipped without inflating.
 */
async function unzip(call: string, bytes: Uint8Array, limits: Readonly<Record<string, number>>): Promise<Record<string, Uint8Array>> {
  const fflate = await loadFflate(call);
  const out: Record<string, Uint8Array> = {};
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
  };
  const unzipper = new fflate.Unzip();
  unzipper.register(fflate.UnzipInflate);
  unzipper.onfile = (file) => {
    const limit = limits[file.name];
    if (limit === undefined || failure !== undefined) return;
    if (out[file.name] !== undefined) {
      fail(new LoadError(`${call}: the .keras archive holds ${file.name} twice`));
      return;
    }
    const declared = file.originalSize;
    if (declared !== undefined && declared > limit) {
      fail(new LoadError(`${call}: ${file.name} in the .keras archive declares ${declared} bytes, more than the ${limit} allowed (maxBytes); refused before inflating`));
      return;
    }
    const cap = declared ?? limit;
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, data, final) => {
      if (failure !== undefined) return;
      if (err) {
        fail(new LoadError(`${call}: ${file.name} in the .keras archive cannot be inflated`, { cause: err }));
        return;
      }
      size += data.byteLength;
      if (size > cap) {
        file.terminate();
        const what = declared !== undefined ? `more than the ${declared} bytes it declares` : `more than the ${limit} allowed (maxBytes)`;
        fail(new LoadError(`${call}: ${file.name} in the .keras archive inflates to ${what}; refused (a zip bomb or a damaged archive)`));
        return;
      }
      chunks.push(data);
      if (final) {
        if (declared !== undefined && size !== declared) {
          fail(new LoadError(`${call}: ${file.name} in the .keras archive inflates to ${size} bytes but declares ${declared}`));
          return;
        }
        const joined = new Uint8Array(size);
        let offset = 0;
        for (const c of chunks) {
          joined.set(c, offset);
          offset += c.byteLength;
        }
        out[file.name] = joined;
      }
    };
    file.start();
  };
  try {
    for (let offset = 0; offset < bytes.byteLength && failure === undefined; offset += SLICE) {
      const end = Math.min(offset + SLICE, bytes.byteLength);
      unzipper.push(bytes.subarray(offset, end), end === bytes.byteLength);
    }
  } catch (cause) {
    throw new LoadError(`${call}: the .keras archive is not a readable zip file`, { cause });
  }
  if (failure !== undefined) throw failure;
  return out;
}

/** Reads `config.json` and `model.weights.h5` from a `.keras` archive; `model.weights.h5` may inflate to `maxBytes`. */
export async function readKerasArchive(call: string, bytes: Uint8Array, maxBytes: number): Promise<KerasArchive> {
  const files = await unzip(call, bytes, { 'config.json': Math.min(MAX_CONFIG_BYTES, maxBytes), 'model.weights.h5': maxBytes });
  const configBytes = files['config.json'];
  const weights = files['model.weights.h5'];
  if (configBytes === undefined || weights === undefined) {
    throw new LoadError(`${call}: the .keras archive lacks ${configBytes === undefined ? 'config.json' : 'model.weights.h5'}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (cause) {
    throw new LoadError(`${call}: config.json in the .keras archive is not valid JSON`, { cause });
  }
  return { config, weights };
}

/** The bytes of `model.weights.h5` inside a `.keras` archive, inflated to at most `maxBytes`. */
export async function extractWeightsFromArchive(call: string, bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const files = await unzip(call, bytes, { 'model.weights.h5': maxBytes });
  const weights = files['model.weights.h5'];
  if (weights === undefined) throw new LoadError(`${call}: the .keras archive lacks model.weights.h5`);
  return weights;
}
