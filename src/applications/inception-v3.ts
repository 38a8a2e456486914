/**
 * InceptionV3 with Keras's layer names. Keras leaves most of its layers unnamed, so they carry the names Keras 3 gives
 * them in a fresh session (`conv2d`, `batch_normalization_5`, `activation_93`); the block outputs are `mixed0` ...
 * `mixed10`.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { addHead, apply, AutoNamer, resolveOptions, buildDisposingOnFailure, type ApplicationOptions } from './common';
import { finishModel } from './weights';

/**
 * Options of `applications.InceptionV3`.
 *
 * @category bases
 */
export type InceptionV3Options = ApplicationOptions;

type T = tfl.SymbolicTensor;

/** Builds the InceptionV3 graph (no weights loaded). */
export function buildInceptionV3(options?: InceptionV3Options): tfl.LayersModel {
  const o = resolveOptions({ call: 'applications.InceptionV3', defaultSize: 299, minSize: 75 }, options);
  const L = tfl.layers;
  const auto = new AutoNamer();
  const convBn = (x: T, filters: number, rows: number, cols: number, strides = 1, padding: 'same' | 'valid' = 'same'): T => {
    let y = apply(L.conv2d({ filters, kernelSize: [rows, cols], strides, padding, useBias: false, name: auto.next('conv2d') }), x);
    y = apply(L.batchNormalization({ axis: 3, scale: false, name: auto.next('batch_normalization') }), y);
    return apply(L.activation({ activation: 'relu', name: auto.next('activation') }), y);
  };
  const avgPool = (x: T): T =>
    apply(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: auto.next('average_pooling2d') }), x);
  const maxPool = (x: T): T => apply(L.maxPooling2d({ poolSize: 3, strides: 2, name: auto.next('max_pooling2d') }), x);
  const concat = (xs: T[], name?: string): T => apply(L.concatenate({ axis: 3, name: name ?? auto.next('concatenate') }), xs);

  const input = tfl.input({ shape: o.inputShape, name: 'input_layer' });
  let x = convBn(input, 32, 3, 3, 2, 'valid');
  x = convBn(x, 32, 3, 3, 1, 'valid');
  x = convBn(x, 64, 3, 3);
  x = maxPool(x);
  x = convBn(x, 80, 1, 1, 1, 'valid');
  x = convBn(x, 192, 3, 3, 1, 'valid');
  x = maxPool(x);

  // mixed0..2: 35 x 35 blocks
  [32, 64, 64].forEach((poolFilters, i) => {
    const b1 = convBn(x, 64, 1, 1);
    let b5 = convBn(x, 48, 1, 1);
    b5 = convBn(b5, 64, 5, 5);
    let b3 = convBn(x, 64, 1, 1);
    b3 = convBn(b3, 96, 3, 3);
    b3 = convBn(b3, 96, 3, 3);
    const bp = convBn(avgPool(x), poolFilters, 1, 1);
    x = concat([b1, b5, b3, bp], `mixed${i}`);
  });

  // mixed3: reduction to 17 x 17
  {
    const b3 = convBn(x, 384, 3, 3, 2, 'valid');
    let bd = convBn(x, 64, 1, 1);
    bd = convBn(bd, 96, 3, 3);
    bd = convBn(bd, 96, 3, 3, 2, 'valid');
    const bp = maxPool(x);
    x = concat([b3, bd, bp], 'mixed3');
  }

  // mixed4..7: 17 x 17 blocks with factorised 7 x 7 convolutions
  [128, 160, 160, 192].forEach((f, i) => {
    const b1 = convBn(x, 192, 1, 1);
    let b7 = convBn(x, f, 1, 1);
    b7 = convBn(b7, f, 1, 7);
    b7 = convBn(b7, 192, 7, 1);
    let bd = convBn(x, f, 1, 1);
    bd = convBn(bd, f, 7, 1);
    bd = convBn(bd, f, 1, 7);
    bd = convBn(bd, f, 7, 1);
    bd = convBn(bd, 192, 1, 7);
    const bp = convBn(avgPool(x), 192, 1, 1);
    x = concat([b1, b7, bd, bp], `mixed${4 + i}`);
  });

  // mixed8: reduction to 8 x 8
  {
    let b3 = convBn(x, 192, 1, 1);
    b3 = convBn(b3, 320, 3, 3, 2, 'valid');
    let b7 = convBn(x, 192, 1, 1);
    b7 = convBn(b7, 192, 1, 7);
    b7 = convBn(b7, 192, 7, 1);
    b7 = convBn(b7, 192, 3, 3, 2, 'valid');
    const bp = maxPool(x);
    x = concat([b3, b7, bp], 'mixed8');
  }

  // mixed9, mixed10: 8 x 8 blocks
  for (let i = 0; i < 2; i++) {
    const b1 = convBn(x, 320, 1, 1);
    let b3 = convBn(x, 384, 1, 1);
    const b3a = convBn(b3, 384, 1, 3);
    const b3b = convBn(b3, 384, 3, 1);
    b3 = concat([b3a, b3b], `mixed9_${i}`);
    let bd = convBn(x, 448, 1, 1);
    bd = convBn(bd, 384, 3, 3);
    const bda = convBn(bd, 384, 1, 3);
    const bdb = convBn(bd, 384, 3, 1);
    bd = concat([bda, bdb]);
    const bp = convBn(avgPool(x), 192, 1, 1);
    x = concat([b1, b3, bd, bp], `mixed${9 + i}`);
  }

  const gap = o.includeTop ? 'avg_pool' : auto.next('global_average_pooling2d');
  x = addHead(x, o, { gap, gmp: 'global_max_pooling2d', topPool: 'avg_pool' });
  return tfl.model({ inputs: input, outputs: x, name: 'inception_v3' });
}

/**
 * InceptionV3 as in `keras.applications.InceptionV3` (same weight shapes and order; layer names as Keras 3 gives
 * them in a fresh session). Inputs are `'tf'`-preprocessed ([-1, 1]): see `InceptionV3.preprocessing`.
 *
 * @param options - see {@link ApplicationOptions}; the default input is 299 x 299, the smallest 75 x 75.
 * @returns the model; it belongs to the caller.
 * @throws {@link InvalidArgumentError} for bad options.
 * @throws {@link LoadError} / {@link IncompatibleModelError} when the weights cannot be read or do not fit.
 * @example
 * ```ts
 * const base = await applications.InceptionV3({ weights: 'imagenet', includeTop: false, inputShape: [160, 160, 3] });
 * ```
 */
export async function InceptionV3(options?: InceptionV3Options): Promise<tfl.LayersModel> {
  const model = buildDisposingOnFailure(() => buildInceptionV3(options));
  return finishModel('applications.InceptionV3', model, { arch: 'inception_v3', options });
}
