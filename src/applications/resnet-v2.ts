/** ResNet50V2 / ResNet101V2 with Keras's layer names (`conv1_conv`, `conv2_block1_preact_bn`, ... `post_relu`). */
import * as tfl from '@tensorflow/tfjs-layers';
import { addHead, apply, AutoNamer, resolveOptions, buildDisposingOnFailure, type ApplicationOptions } from './common';
import { finishModel } from './weights';

/**
 * Options of `applications.ResNet50V2` and `applications.ResNet101V2`.
 *
 * @category bases
 */
export type ResNetV2Options = ApplicationOptions;

const EPS = 1.001e-5;

function block(x: tfl.SymbolicTensor, filters: number, stride: number, convShortcut: boolean, name: string, auto: AutoNamer): tfl.SymbolicTensor {
  const L = tfl.layers;
  let preact = apply(L.batchNormalization({ axis: 3, epsilon: EPS, name: `${name}_preact_bn` }), x);
  preact = apply(L.activation({ activation: 'relu', name: `${name}_preact_relu` }), preact);
  let shortcut: tfl.SymbolicTensor;
  if (convShortcut) {
    shortcut = apply(L.conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }), preact);
  } else if (stride > 1) {
    shortcut = apply(L.maxPooling2d({ poolSize: 1, strides: stride, name: auto.next('max_pooling2d') }), x);
  } else {
    shortcut = x;
  }
  let y = apply(L.conv2d({ filters, kernelSize: 1, strides: 1, useBias: false, name: `${name}_1_conv` }), preact);
  y = apply(L.batchNormalization({ axis: 3, epsilon: EPS, name: `${name}_1_bn` }), y);
  y = apply(L.activation({ activation: 'relu', name: `${name}_1_relu` }), y);
  y = apply(L.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: `${name}_2_pad` }), y);
  y = apply(L.conv2d({ filters, kernelSize: 3, strides: stride, useBias: false, name: `${name}_2_conv` }), y);
  y = apply(L.batchNormalization({ axis: 3, epsilon: EPS, name: `${name}_2_bn` }), y);
  y = apply(L.activation({ activation: 'relu', name: `${name}_2_relu` }), y);
  y = apply(L.conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }), y);
  return apply(L.add({ name: `${name}_out` }), [shortcut, y]);
}

function stack(x: tfl.SymbolicTensor, filters: number, blocks: number, stride1: number, name: string, auto: AutoNamer): tfl.SymbolicTensor {
  let y = block(x, filters, 1, true, `${name}_block1`, auto);
  for (let i = 2; i < blocks; i++) y = block(y, filters, 1, false, `${name}_block${i}`, auto);
  return block(y, filters, stride1, false, `${name}_block${blocks}`, auto);
}

/** Builds a ResNetV2 graph with the given blocks per stage (no weights loaded). */
export function buildResNetV2(call: string, name: string, blocks: readonly [number, number, number, number], options?: ResNetV2Options): tfl.LayersModel {
  const o = resolveOptions({ call, defaultSize: 224, minSize: 32 }, options);
  const L = tfl.layers;
  const auto = new AutoNamer();
  const input = tfl.input({ shape: o.inputShape, name: 'input_layer' });
  let x = apply(L.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }), input);
  x = apply(L.conv2d({ filters: 64, kernelSize: 7, strides: 2, useBias: true, name: 'conv1_conv' }), x);
  x = apply(L.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }), x);
  x = apply(L.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);
  x = stack(x, 64, blocks[0], 2, 'conv2', auto);
  x = stack(x, 128, blocks[1], 2, 'conv3', auto);
  x = stack(x, 256, blocks[2], 2, 'conv4', auto);
  x = stack(x, 512, blocks[3], 1, 'conv5', auto);
  x = apply(L.batchNormalization({ axis: 3, epsilon: EPS, name: 'post_bn' }), x);
  x = apply(L.activation({ activation: 'relu', name: 'post_relu' }), x);
  x = addHead(x, o, { gap: 'avg_pool', gmp: 'max_pool', topPool: 'avg_pool' });
  return tfl.model({ inputs: input, outputs: x, name });
}

/**
 * ResNet50V2 as in `keras.applications.ResNet50V2` (same layer and weight names, shapes and order). Inputs are
 * `'tf'`-preprocessed ([-1, 1]): see `ResNet50V2.preprocessing`.
 *
 * @param options - see {@link ApplicationOptions}.
 * @returns the model; it belongs to the caller.
 * @throws {@link InvalidArgumentError} for bad options.
 * @throws {@link LoadError} / {@link IncompatibleModelError} when the weights cannot be read or do not fit.
 * @example
 * ```ts
 * const base = await applications.ResNet50V2({ weights: 'imagenet', includeTop: false, inputShape: [160, 160, 3] });
 * ```
 */
export async function ResNet50V2(options?: ResNetV2Options): Promise<tfl.LayersModel> {
  const model = buildDisposingOnFailure(() => buildResNetV2('applications.ResNet50V2', 'resnet50v2', [3, 4, 6, 3], options));
  return finishModel('applications.ResNet50V2', model, { arch: 'resnet50v2', options });
}

/**
 * ResNet101V2 as in `keras.applications.ResNet101V2` (same layer and weight names, shapes and order). Inputs are
 * `'tf'`-preprocessed ([-1, 1]): see `ResNet101V2.preprocessing`.
 *
 * @param options - see {@link ApplicationOptions}.
 * @returns the model; it belongs to the caller.
 * @throws {@link InvalidArgumentError} for bad options.
 * @throws {@link LoadError} / {@link IncompatibleModelError} when the weights cannot be read or do not fit.
 * @example
 * ```ts
 * const base = await applications.ResNet101V2({ weights: 'imagenet', includeTop: false, inputShape: [160, 160, 3] });
 * ```
 */
export async function ResNet101V2(options?: ResNetV2Options): Promise<tfl.LayersModel> {
  const model = buildDisposingOnFailure(() => buildResNetV2('applications.ResNet101V2', 'resnet101v2', [3, 4, 23, 3], options));
  return finishModel('applications.ResNet101V2', model, { arch: 'resnet101v2', options });
}
