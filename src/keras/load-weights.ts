/**
 * `loadKerasWeights`: loads a Keras `.h5` weights file (any layout) or the weights of a `.keras` archive into a
 * tfjs-layers model whose architecture matches.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError, InvalidArgumentError } from '../errors';
import { checkNotDisposed } from '../models/wrapper-view';
import { checkOneOf, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { withH5File } from './h5';
import {
  DEFAULT_READ_LIMITS,
  isKerasFileSource,
  readLimits,
  readSourceBytes,
  type KerasFileSource,
  type KerasReadOptions,
  type ReadLimits,
} from './source';
import { readWeightFile, type FileLayer, type WeightFile } from './weight-file';
import { extractWeightsFromArchive, isZip } from './archive';

/**
 * How the layers of the file are paired with the layers of the model.
 *
 * @category bases
 */
export type KerasWeightMatch = 'auto' | 'name' | 'order';

/**
 * Options of {@link loadKerasWeights}.
 *
 * @category bases
 */
export interface LoadKerasWeightsOptions extends KerasReadOptions {
  /**
   * How file layers are paired with model layers:
   * - `'name'`: by layer name (Keras's `by_name=True`); layers of the file that the model lacks are ignored.
   * - `'order'`: the model's layers with weights, in order, against the file's (Keras's default for `.h5` files;
   *   for Keras 3 files, the storage path Keras derives from each layer's class and position).
   * - `'auto'`: by name when every model layer with weights has a namesake in the file, otherwise by order.
   *
   * Shapes are checked either way.
   * @defaultValue 'auto'
   */
  readonly match?: KerasWeightMatch;
}

const CALL = 'loadKerasWeights';

/**
 * Loads Keras weights into `model` in place: a `.h5` file saved by Keras 1, 2 or 3 (`save_weights`, `model.save`,
 * Keras's published ImageNet files), a Keras 3 `.weights.h5`, or a `.keras` archive (its `model.weights.h5`).
 * Nothing is assigned unless every weight matches in shape.
 *
 * @param model - a tfjs-layers model with the same architecture (e.g. from `applications` or `loadKerasModel`).
 * @param source - the file: its bytes, an `http(s)://` or `file://` URL, or a path (Node).
 * @param options - see {@link LoadKerasWeightsOptions}.
 * @returns the number of weight tensors assigned.
 * @throws {@link InvalidArgumentError} for a bad model, source or option.
 * @throws {@link LoadError} when the file cannot be read or downloaded (timeout included), is larger than `maxBytes`
 *   (or is a `.keras` archive whose weights inflate past it), or holds no Keras weights; HDF5's own diagnostics are in
 *   the message, never on the console.
 * @throws {@link IncompatibleModelError} when layers or shapes do not match, naming the first that differs.
 * @throws {@link UnsupportedError} when the optional peer `h5wasm` (or `fflate` for `.keras`) is not installed.
 * @example
 * ```ts
 * import { applications, loadKerasWeights } from 'tl-kit';
 * const model = await applications.MobileNetV2({ includeTop: false, inputShape: [160, 160, 3] });
 * await loadKerasWeights(model, './my_mobilenet.weights.h5');
 * ```
 *
 * @category bases
 */
export async function loadKerasWeights(
  model: tfl.LayersModel,
  source: KerasFileSource,
  options: LoadKerasWeightsOptions = {},
): Promise<number> {
  if (!(model instanceof tfl.LayersModel)) throw new InvalidArgumentError(CALL, 'model', 'a tf.LayersModel', model);
  checkNotDisposed(CALL, model);
  if (!isKerasFileSource(source)) {
    throw new InvalidArgumentError(CALL, 'source', 'a path, a URL, an ArrayBuffer or a Uint8Array', source);
  }
  checkOptionsObject(CALL, options);
  checkOptionKeys<LoadKerasWeightsOptions>(CALL, options, { match: true, maxBytes: true, timeoutMs: true });
  const match = options.match ?? 'auto';
  checkOneOf(CALL, 'match', match, ['auto', 'name', 'order'] as const);
  const limits = readLimits(CALL, options);
  return loadWeightsFrom(CALL, 'source', model, source, match, limits);
}

/** The body of {@link loadKerasWeights} for already validated arguments; errors name `call` and `option`. Internal. */
export async function loadWeightsFrom(
  call: string,
  option: string,
  model: tfl.LayersModel,
  source: KerasFileSource,
  match: KerasWeightMatch,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): Promise<number> {
  let bytes = await readSourceBytes(call, option, source, limits);
  if (isZip(bytes)) bytes = await extractWeightsFromArchive(call, bytes, limits.maxBytes);
  return withH5File(call, bytes, (root) => assignWeights(call, model, readWeightFile(call, root), match));
}

/** A layer of the model that owns weights, with the Keras 3 storage path Keras would give it. */
interface ModelLayer {
  readonly layer: tfl.layers.Layer;
  readonly path: string;
}

/** Snake case as Keras writes class names into storage paths (`GlobalAveragePooling2D` -> `global_average_pooling2d`). */
function kerasSnake(className: string): string {
  const name = className === 'Model' ? 'Functional' : className;
  return name
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function modelLayers(model: tfl.LayersModel, prefix: string, out: ModelLayer[]): void {
  const used = new Map<string, number>();
  for (const layer of model.layers) {
    const base = kerasSnake(layer.getClassName());
    const count = used.get(base) ?? 0;
    used.set(base, count + 1);
    const path = `${prefix}/${count === 0 ? base : `${base}_${count}`}`;
    if (layer instanceof tfl.LayersModel) modelLayers(layer, `${path}/layers`, out);
    else if (layer.weights.length > 0) out.push({ layer, path });
  }
}

/**
 * Pairs model layers with file layers, checks every shape, then assigns. File layers named in `ignore` take no part.
 * Returns the number of tensors set.
 */
export function assignWeights(
  call: string,
  model: tfl.LayersModel,
  weightFile: WeightFile,
  match: KerasWeightMatch,
  ignore: ReadonlySet<string> = new Set(),
): number {
  // Layers whose weights became part of the topology (a folded Normalization) are not the model's to assign.
  const file = ignore.size === 0 ? weightFile : { ...weightFile, layers: weightFile.layers.filter((l) => !ignore.has(l.name)) };
  const mine: ModelLayer[] = [];
  modelLayers(model, 'layers', mine);
  const byName = new Map(file.layers.map((l) => [l.name, l]));
  const useNames = match === 'name' || (match === 'auto' && mine.every((m) => byName.has(m.layer.name)));
  const pairs: Array<[ModelLayer, FileLayer]> = [];
  if (useNames) {
    for (const m of mine) {
      const found = byName.get(m.layer.name);
      if (found === undefined) {
        throw new IncompatibleModelError(
          `${call}: layer '${m.layer.name}' of the model has no weights in the file (matching by name)`,
        );
      }
      pairs.push([m, found]);
    }
  } else if (file.layout === 'keras3') {
    const byPath = new Map(file.layers.map((l) => [l.path, l]));
    for (const m of mine) {
      const found = byPath.get(m.path);
      if (found === undefined) {
        throw new IncompatibleModelError(
          `${call}: layer '${m.layer.name}' of the model has no weights at '${m.path}' in the file (matching by order)`,
        );
      }
      pairs.push([m, found]);
    }
  } else {
    if (mine.length !== file.layers.length) {
      throw new IncompatibleModelError(
        `${call}: the model has ${mine.length} layers with weights, the file ${file.layers.length} (matching by order)`,
      );
    }
    mine.forEach((m, i) => pairs.push([m, file.layers[i] as FileLayer]));
  }
  // Check every count and shape before reading any values, so a mismatch assigns nothing.
  for (const [m, f] of pairs) {
    const expected = m.layer.weights;
    if (expected.length !== f.weights.length) {
      throw new IncompatibleModelError(
        `${call}: layer '${m.layer.name}' has ${expected.length} weights, file layer '${f.name}' has ${f.weights.length}`,
      );
    }
    expected.forEach((w, i) => {
      const got = (f.weights[i] as FileLayer['weights'][number]).dataset.shape;
      if (got.length !== w.shape.length || got.some((d, k) => d !== w.shape[k])) {
        throw new IncompatibleModelError(
          `${call}: weight '${w.originalName}' of layer '${m.layer.name}' has shape [${w.shape.join(', ')}], ` +
            `file layer '${f.name}' has [${got.join(', ')}]`,
        );
      }
    });
  }
  let assigned = 0;
  for (const [m, f] of pairs) {
    // Read every value of the layer before making tensors: a read that fails then leaves no tensor behind.
    const values = m.layer.weights.map((_, i) => (f.weights[i] as FileLayer['weights'][number]).dataset.read());
    const tensors = m.layer.weights.map((w, i) => tf.tensor(values[i] as Float32Array, w.shape as number[], 'float32'));
    try {
      m.layer.setWeights(tensors);
      assigned += tensors.length;
    } finally {
      tf.dispose(tensors);
    }
  }
  return assigned;
}
