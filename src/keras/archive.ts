/**
 * Reads Keras 3 `.keras` archives (zip: `config.json`, `metadata.json`, `model.weights.h5`) with fflate, an optional
 * peer dependency imported lazily. Internal.
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

async function unzip(call: string, bytes: Uint8Array, names: readonly string[]): Promise<Record<string, Uint8Array>> {
  let fflate: typeof import('fflate');
  try {
    fflate = await importOptional<typeof import('fflate')>('fflate');
  } catch (cause) {
    throw new UnsupportedError(
      `${call}: reading .keras archives needs the optional peer dependency 'fflate' (npm install fflate@^0.8)`,
      { cause },
    );
  }
  try {
    return fflate.unzipSync(bytes, { filter: (file) => names.includes(file.name) });
  } catch (cause) {
    throw new LoadError(`${call}: the .keras archive is not a readable zip file`, { cause });
  }
}

/** Reads `config.json` and `model.weights.h5` from a `.keras` archive. */
export async function readKerasArchive(call: string, bytes: Uint8Array): Promise<KerasArchive> {
  const files = await unzip(call, bytes, ['config.json', 'model.weights.h5']);
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

/** The bytes of `model.weights.h5` inside a `.keras` archive. */
export async function extractWeightsFromArchive(call: string, bytes: Uint8Array): Promise<Uint8Array> {
  const files = await unzip(call, bytes, ['model.weights.h5']);
  const weights = files['model.weights.h5'];
  if (weights === undefined) throw new LoadError(`${call}: the .keras archive lacks model.weights.h5`);
  return weights;
}
