/** MobileNetV2 with Keras's layer names (`Conv1`, `expanded_conv_depthwise`, `block_1_expand`, ... `out_relu`). */
import * as tfl from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from '../errors';
import { addHead, apply, AutoNamer, buildDisposingOnFailure, resolveOptions, type ApplicationOptions } from './common';
import { finishModel } from './weights';

/**
 * Options of `applications.MobileNetV2`.
 *
 * @category bases
 */
export interface MobileNetV2Options extends ApplicationOptions {
  /**
   * Width multiplier (Keras `alpha`). ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4.
   * @defaultValue 1.0
   */
  readonly alpha?: number;
}

/** Alphas for which Keras publishes ImageNet weights. */
export const MOBILENET_V2_ALPHAS: readonly number[] = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4];
/**
 * Largest width multiplier accepted. MobileNetV2's weights grow with alpha squared: alpha 4 has about 16 times the
 * 3.5 million weights of alpha 1, and `alpha: 1e6` would ask for 10^19.
 */
export const MAX_MOBILENET_V2_ALPHA = 4;
/** Input sizes for which Keras publishes ImageNet weights (other sizes load the 224 weights, as in Keras). */
export const MOBILENET_V2_SIZES: readonly number[] = [96, 128, 160, 192, 224];

function makeDivisible(v: number, divisor: number): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

const BN = { axis: -1, epsilon: 1e-3, momentum: 0.999 } as const;

function invertedResBlock(x: tfl.SymbolicTensor, expansion: number, stride: number, alpha: number, filters: number, id: number): tfl.SymbolicTensor {
  const L = tfl.layers;
  const inChannels = x.shape[3] as number;
  const pointwise = makeDivisible(Math.trunc(filters * alpha), 8);
  let prefix = `block_${id}_`;
  let y = x;
  if (id > 0) {
    y = apply(L.conv2d({ filters: expansion * inChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }), y);
    y = apply(L.batchNormalization({ ...BN, name: `${prefix}expand_BN` }), y);
    y = apply(L.reLU({ maxValue: 6, name: `${prefix}expand_relu` }), y);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) {
    // Keras's correct_pad: one pixel less on the top/left when the side is even.
    const h = y.shape[1] as number;
    const w = y.shape[2] as number;
    y = apply(L.zeroPadding2d({ padding: [[h % 2, 1], [w % 2, 1]], name: `${prefix}pad` }), y);
  }
  y = apply(
    L.depthwiseConv2d({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise` }),
    y,
  );
  y = apply(L.batchNormalization({ ...BN, name: `${prefix}depthwise_BN` }), y);
  y = apply(L.reLU({ maxValue: 6, name: `${prefix}depthwise_relu` }), y);
  y = apply(L.conv2d({ filters: pointwise, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }), y);
  y = apply(L.batchNormalization({ ...BN, name: `${prefix}project_BN` }), y);
  if (inChannels === pointwise && stride === 1) return apply(L.add({ name: `${prefix}add` }), [x, y]);
  return y;
}

/** Builds the MobileNetV2 graph (no weights loaded). */
export function buildMobileNetV2(options?: MobileNetV2Options): tfl.LayersModel {
  const call = 'applications.MobileNetV2';
  const o = resolveOptions({ call, defaultSize: 224, minSize: 32, topSizes: MOBILENET_V2_SIZES, extraKeys: ['alpha'] }, options);
  const alpha = options?.alpha ?? 1.0;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0) {
    throw new InvalidArgumentError(call, 'alpha', 'a positive finite number', alpha);
  }
  if (alpha > MAX_MOBILENET_V2_ALPHA) {
    throw new InvalidArgumentError(call, 'alpha', `at most ${MAX_MOBILENET_V2_ALPHA}`, alpha);
  }
  if (o.weights === 'imagenet' && !MOBILENET_V2_ALPHAS.includes(alpha)) {
    throw new InvalidArgumentError(call, 'alpha', `one of ${MOBILENET_V2_ALPHAS.join(', ')} with weights 'imagenet'`, alpha);
  }
  const L = tfl.layers;
  const auto = new AutoNamer();
  const input = tfl.input({ shape: o.inputShape, name: 'input_layer' });
  let x = apply(L.conv2d({ filters: makeDivisible(32 * alpha, 8), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }), input);
  x = apply(L.batchNormalization({ ...BN, name: 'bn_Conv1' }), x);
  x = apply(L.reLU({ maxValue: 6, name: 'Conv1_relu' }), x);
  const plan: Array<[number, number, number]> = [
    // [filters, stride, expansion] for blocks 0..16
    [16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6],
    [64, 1, 6], [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6],
  ];
  plan.forEach(([filters, stride, expansion], id) => {
    x = invertedResBlock(x, expansion, stride, alpha, filters, id);
  });
  const last = alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280;
  x = apply(L.conv2d({ filters: last, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = apply(L.batchNormalization({ ...BN, name: 'Conv_1_bn' }), x);
  x = apply(L.reLU({ maxValue: 6, name: 'out_relu' }), x);
  const gap = auto.next('global_average_pooling2d');
  x = addHead(x, o, { gap, gmp: auto.next('global_max_pooling2d'), topPool: gap });
  const name = `mobilenetv2_${alpha.toFixed(2)}_${o.inputShape[0]}`;
  return tfl.model({ inputs: input, outputs: x, name });
}

/**
 * MobileNetV2 as in `keras.applications.MobileNetV2` (same layer and weight names, shapes and order). Inputs are
 * `'tf'`-preprocessed ([-1, 1]): see `MobileNetV2.preprocessing`. With `weights: 'imagenet'`, an input size other
 * than 96/128/160/192/224 loads the 224 weights, as Keras does.
 *
 * @param options - see {@link MobileNetV2Options}.
 * @returns the model; it belongs to the caller.
 * @throws {@link InvalidArgumentError} for bad options (e.g. an `alpha` without ImageNet weights).
 * @throws {@link LoadError} / {@link IncompatibleModelError} when the weights cannot be read or do not fit.
 * @example
 * ```ts
 * const base = await applications.MobileNetV2({ weights: 'imagenet', includeTop: false, inputShape: [160, 160, 3] });
 * ```
 */
export async function MobileNetV2(options?: MobileNetV2Options): Promise<tfl.LayersModel> {
  const model = buildDisposingOnFailure(() => buildMobileNetV2(options));
  return finishModel('applications.MobileNetV2', model, { arch: 'mobilenetv2', options, alpha: options?.alpha ?? 1.0 });
}
