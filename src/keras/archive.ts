/**
 * Reads Keras 3 `.keras` archives (zip: `config.json`, `metadata.json`, `model.weights.h5`) with fflate, an optional
 * peer dependency imported lazily. Entries are inflated as a stream, in small slices, counting the bytes: an entry
 * that declares more than `maxBytes`, or more than 100 times its compressed size (past 32 MiB), is refused before
 * inflating, and one that inflates past its declared size or those limits is stopped there, so a small zip that
 * inflates to gigabytes (a zip bomb) costs at most what its declared size, within the limits, allows.
 * Internal.
 */
import { LoadError, UnsupportedError } from '../errors';
import { importOptional } from '../internal/optional-import';
import { concatBytes } from '../io/manifest';

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

/**
 * Largest expansion accepted past {@link RATIO_FREE_BYTES}: Keras stores its entries uncompressed, and deflated
 * float weights shrink by a few percent to a few times, never a hundredfold; a zip bomb expands about a thousandfold.
 */
const MAX_RATIO = 100;

/** Entries up to this size may have any compression ratio (small configs and zero-heavy weights compress well). */
const RATIO_FREE_BYTES = 32 * 1024 ** 2;

/** Most bytes an entry of `compressed` bytes may inflate to, by ratio (before `maxBytes`). */
function ratioLimit(compressed: number): number {
  return Math.max(RATIO_FREE_BYTES, MAX_RATIO * compressed);
}

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
    const maxBytes = limits[file.name];
    if (maxBytes === undefined || failure !== undefined) return;
    if (out[file.name] !== undefined) {
      fail(new LoadError(`${call}: the .keras archive holds ${file.name} twice`));
      return;
    }
    const where = `${call}: ${file.name} in the .keras archive`;
    // Without a compressed size in the header, the whole archive bounds the entry's.
    const byRatio = ratioLimit(file.size ?? bytes.byteLength);
    const declared = file.originalSize;
    if (declared !== undefined && declared > maxBytes) {
      fail(new LoadError(`${where} declares ${declared} bytes, more than the ${maxBytes} allowed (maxBytes); refused before inflating`));
      return;
    }
    if (declared !== undefined && declared > byRatio) {
      fail(
        new LoadError(
          `${where} declares ${declared} bytes from ${file.size ?? bytes.byteLength} compressed, more than ${MAX_RATIO} times as many; refused before inflating (a zip bomb)`,
        ),
      );
      return;
    }
    const cap = Math.min(declared ?? maxBytes, maxBytes, byRatio);
    // A declared size within the limits is allocated once; an undeclared one grows chunk by chunk.
    const whole = declared !== undefined ? new Uint8Array(declared) : undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, data, final) => {
      if (failure !== undefined) return;
      if (err) {
        fail(new LoadError(`${where} cannot be inflated`, { cause: err }));
        return;
      }
      if (size + data.byteLength > cap) {
        file.terminate();
        const what =
          declared !== undefined
            ? `more than the ${declared} bytes it declares`
            : cap === byRatio
              ? `more than ${MAX_RATIO} times its compressed size`
              : `more than the ${maxBytes} allowed (maxBytes)`;
        fail(new LoadError(`${where} inflates to ${what}; refused (a zip bomb or a damaged archive)`));
        return;
      }
      if (whole !== undefined) whole.set(data, size);
      else chunks.push(data);
      size += data.byteLength;
      if (!final) return;
      if (whole !== undefined) {
        if (size !== declared) {
          fail(new LoadError(`${where} inflates to ${size} bytes but declares ${declared}`));
          return;
        }
        out[file.name] = whole;
        return;
      }
      out[file.name] = new Uint8Array(concatBytes(chunks));
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
