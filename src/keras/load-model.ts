/**
 * `loadKerasModel`: a Keras 3 `.keras` archive, or a full-model `.h5` file (Keras 2 or 3 `model.save`), as a
 * tfjs-layers model with its weights.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError, InvalidArgumentError, LoadError, TlKitError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { readKerasArchive, isZip } from './archive';
import { translateModelConfig, type TranslateOptions } from './config';
import { withH5File } from './h5';
import { assignWeights } from './load-weights';
import { isKerasFileSource, readLimits, readSourceBytes, type KerasFileSource, type KerasReadOptions } from './source';
import { buildLayersModel } from '../models/load-layers';
import { rootReason } from '../internal/cause';
import { readWeightFile } from './weight-file';

/**
 * Options of {@link loadKerasModel}.
 *
 * @category bases
 */
export interface LoadKerasModelOptions extends KerasReadOptions {
  /**
   * Load the architecture only and keep tfjs's random initial weights.
   * @defaultValue false
   */
  readonly skipWeights?: boolean;
}

const CALL = 'loadKerasModel';

async function buildFromConfig(config: unknown, options: TranslateOptions): Promise<tfl.LayersModel> {
  const topology = translateModelConfig(CALL, config, options);
  try {
    return await buildLayersModel(CALL, { ...topology, keras_version: '2.15.0', backend: 'tensorflow' }, 'the Keras model');
  } catch (cause) {
    if (cause instanceof IncompatibleModelError) throw cause;
    const detail = rootReason(cause);
    throw new IncompatibleModelError(`${CALL}: tfjs-layers could not build the model from its Keras config: ${detail}`, {
      cause,
    });
  }
}

/**
 * Loads a Keras model file as a tfjs-layers model: a Keras 3 `.keras` archive (config + weights) or a full-model
 * `.h5` file written by `model.save('x.h5')` in Keras 2 or 3. The Keras config is translated to a tfjs-layers
 * topology (Functional and Sequential models, nested models, and the layer classes tfjs-layers has, including
 * `Rescaling`); a layer tfjs cannot build is named in the error. Weights-only files need {@link loadKerasWeights}.
 *
 * @param source - the file: its bytes, an `http(s)://` or `file://` URL, or a path (Node).
 * @param options - see {@link LoadKerasModelOptions}.
 * @returns the model, owned by the caller.
 * @throws {@link InvalidArgumentError} for a bad source or option.
 * @throws {@link LoadError} when the file cannot be read or downloaded (timeout included), is larger than
 *   `maxBytes` (or is an archive whose entries inflate past it), is not a Keras model file, or holds only weights.
 * @throws {@link IncompatibleModelError} naming the layers tfjs-layers cannot build, or when weights do not fit.
 * @throws {@link UnsupportedError} when the optional peer `h5wasm` (or `fflate` for `.keras`) is not installed.
 * @example
 * ```ts
 * import { loadKerasModel } from 'tl-kit';
 * const model = await loadKerasModel('./my_model.keras');
 * model.predict(images);
 * ```
 *
 * @category bases
 */
export async function loadKerasModel(source: KerasFileSource, options: LoadKerasModelOptions = {}): Promise<tfl.LayersModel> {
  if (!isKerasFileSource(source)) {
    throw new InvalidArgumentError(CALL, 'source', 'a path, a URL, an ArrayBuffer or a Uint8Array', source);
  }
  checkOptionsObject(CALL, options);
  checkOptionKeys<LoadKerasModelOptions>(CALL, options, { skipWeights: true, maxBytes: true, timeoutMs: true });
  const skipWeights = options.skipWeights ?? false;
  if (typeof skipWeights !== 'boolean') throw new InvalidArgumentError(CALL, 'skipWeights', 'a boolean', skipWeights);
  const limits = readLimits(CALL, options);
  const bytes = await readSourceBytes(CALL, 'source', source, limits);
  let config: unknown;
  let weights: Uint8Array;
  if (isZip(bytes)) {
    const archive = await readKerasArchive(CALL, bytes, limits.maxBytes);
    config = archive.config;
    weights = archive.weights;
  } else {
    weights = bytes;
    config = await withH5File(CALL, bytes, (root) => {
      const raw = root.attrs.model_config;
      if (typeof raw !== 'string') {
        throw new LoadError(`${CALL}: the .h5 file has no model_config (a weights-only file: use loadKerasWeights)`);
      }
      try {
        return JSON.parse(raw) as unknown;
      } catch (cause) {
        throw new LoadError(`${CALL}: model_config in the .h5 file is not valid JSON`, { cause });
      }
    });
  }
  // The weights file is opened before building: a Normalization folds its values into the topology.
  return withH5File(CALL, weights, async (root) => {
    const file = readWeightFile(CALL, root);
    const folded: string[] = [];
    const weightsOf = (name: string) => file.layers.find((l) => l.name === name)?.weights.map((w) => w.dataset.read());
    const model = await buildFromConfig(config, { weightsOf, folded });
    if (skipWeights) return model;
    try {
      assignWeights(CALL, model, file, 'auto', new Set(folded));
      return model;
    } catch (err) {
      model.dispose();
      if (err instanceof TlKitError) throw err;
      throw new LoadError(`${CALL}: could not assign the weights`, { cause: err });
    }
  });
}
