/**
 * Finds the weights in a Keras HDF5 file, whichever layout wrote it. Internal.
 *
 * - Legacy layout (Keras 1/2 `save_weights('x.h5')`, `model.save('x.h5')` in Keras 2 and 3): the root (or
 *   `model_weights/`) lists `layer_names`; each layer group lists `weight_names`, the paths of its datasets,
 *   e.g. `conv/kernel:0` (Keras 2) or `conv/kernel` (Keras 3).
 * - Keras 3 layout (`save_weights('x.weights.h5')` and `model.weights.h5` inside a `.keras` archive):
 *   `layers/<path>/vars/0..n`, where `<path>` is the layer's class in snake case with a counter (`conv2d_1`) and the
 *   `vars` group carries the layer's real name in its `name` attribute; nested models nest under `layers/`.
 */
import { LoadError } from '../errors';
import { h5Get, stringList, type H5Dataset, type H5Group } from './h5';

/** One weight of one layer in the file. */
export interface FileWeight {
  /** Short name (`kernel`, `gamma`, or the index `0` in the Keras 3 layout). */
  readonly name: string;
  readonly dataset: H5Dataset;
}

/** The weights of one layer in the file, in the layer's own order. */
export interface FileLayer {
  /** The layer's name as Keras knew it. */
  readonly name: string;
  /** Keras 3 layout only: the storage path (`layers/conv2d_1`), used for structural matching. */
  readonly path: string;
  readonly weights: readonly FileWeight[];
}

/** All weighted layers of a file, in file order (legacy: Keras's layer order; Keras 3: storage order). */
export interface WeightFile {
  readonly layout: 'legacy' | 'keras3';
  readonly layers: readonly FileLayer[];
  /** Keras version recorded in the file, when there is one. */
  readonly kerasVersion: string | undefined;
}

/** Reads the layout of `root`; throws LoadError when the file holds no Keras weights. */
export function readWeightFile(call: string, root: H5Group): WeightFile {
  const version = typeof root.attrs.keras_version === 'string' ? root.attrs.keras_version : undefined;
  const modelWeights = h5Get(root, 'model_weights');
  const legacyRoot = modelWeights?.kind === 'group' ? modelWeights : root;
  if (legacyRoot.attrs.layer_names !== undefined) {
    const mwVersion = legacyRoot.attrs.keras_version;
    return {
      layout: 'legacy',
      layers: readLegacy(call, legacyRoot),
      kerasVersion: typeof mwVersion === 'string' ? mwVersion : version,
    };
  }
  const layers = h5Get(root, 'layers');
  if (layers?.kind === 'group') {
    const found: FileLayer[] = [];
    readKeras3(layers, 'layers', found);
    return { layout: 'keras3', layers: found, kerasVersion: version };
  }
  throw new LoadError(
    `${call}: the HDF5 file holds no Keras weights (neither 'layer_names' nor a 'layers' group at its root)`,
  );
}

function readLegacy(call: string, group: H5Group): FileLayer[] {
  const result: FileLayer[] = [];
  for (const layerName of stringList(group.attrs.layer_names)) {
    const layerGroup = h5Get(group, layerName);
    if (layerGroup?.kind !== 'group') {
      throw new LoadError(`${call}: layer '${layerName}' is listed in the file but has no group`);
    }
    // A nested model is one group whose weight names carry each inner layer's name (`bconv/kernel`, `bbn/gamma`):
    // split it into its inner layers, in order of first appearance, as tl-kit flattens nested tfjs models.
    const byPrefix = new Map<string, FileWeight[]>();
    for (const weightName of stringList(layerGroup.attrs.weight_names)) {
      const dataset = h5Get(layerGroup, weightName);
      if (dataset?.kind !== 'dataset') {
        throw new LoadError(`${call}: weight '${weightName}' of layer '${layerName}' is listed but missing`);
      }
      const parts = weightName.split('/');
      const short = (parts.pop() ?? weightName).replace(/:\d+$/, '');
      const prefix = parts.pop() ?? layerName;
      const list = byPrefix.get(prefix) ?? [];
      list.push({ name: short, dataset });
      byPrefix.set(prefix, list);
    }
    if (byPrefix.size === 1) {
      result.push({ name: layerName, path: layerName, weights: [...byPrefix.values()][0] as FileWeight[] });
    } else {
      for (const [prefix, weights] of byPrefix) result.push({ name: prefix, path: `${layerName}/${prefix}`, weights });
    }
  }
  return result;
}

function readKeras3(layers: H5Group, prefix: string, out: FileLayer[]): void {
  for (const [key, child] of layers.children) {
    if (child.kind !== 'group') continue;
    const path = `${prefix}/${key}`;
    const vars = child.children.get('vars');
    if (vars?.kind === 'group') {
      const indices = [...vars.children.keys()].filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
      const weights: FileWeight[] = [];
      for (const index of indices) {
        const dataset = vars.children.get(index);
        if (dataset?.kind === 'dataset') weights.push({ name: index, dataset });
      }
      const name = typeof vars.attrs.name === 'string' ? vars.attrs.name : key;
      if (weights.length > 0) out.push({ name, path, weights });
    }
    const nested = child.children.get('layers');
    if (nested?.kind === 'group') readKeras3(nested, `${path}/layers`, out);
  }
}
