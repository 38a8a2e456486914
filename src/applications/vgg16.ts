/** VGG16 with Keras's layer names (`block1_conv1` ... `predictions`). */
import * as tfl from '@tensorflow/tfjs-layers';
import { checkWeightSize } from '../internal/validate';
import { addHead, apply, buildDisposingOnFailure, resolveOptions, type ApplicationOptions } from './common';
import { finishModel } from './weights';

/**
 * Options of `applications.VGG16`.
 *
 * @category bases
 */
export type VGG16Options = ApplicationOptions;

/** Builds the VGG16 graph (no weights loaded). */
export function buildVGG16(options?: VGG16Options): tfl.LayersModel {
  const call = 'applications.VGG16';
  const o = resolveOptions({ call, defaultSize: 224, minSize: 32 }, options);
  if (o.includeTop) {
    // fc1 flattens the last feature map (five 2x2 poolings: a 32nd of each side, 512 channels): its weight grows with
    // the input's area, 102,760,448 values at 224 x 224.
    const flat = Math.floor(o.inputShape[0] / 32) * Math.floor(o.inputShape[1] / 32) * 512;
    checkWeightSize(call, 'inputShape', [flat, 4096], o.inputShape);
  }
  const input = tfl.input({ shape: o.inputShape, name: 'input_layer' });
  let x = input;
  const blocks: Array<[number, number]> = [
    [64, 2],
    [128, 2],
    [256, 3],
    [512, 3],
    [512, 3],
  ];
  blocks.forEach(([filters, convs], b) => {
    for (let c = 1; c <= convs; c++) {
      x = apply(
        tfl.layers.conv2d({
          filters,
          kernelSize: 3,
          activation: 'relu',
          padding: 'same',
          name: `block${b + 1}_conv${c}`,
        }),
        x,
      );
    }
    x = apply(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }), x);
  });
  if (o.includeTop) {
    x = apply(tfl.layers.flatten({ name: 'flatten' }), x);
    x = apply(tfl.layers.dense({ units: 4096, activation: 'relu', name: 'fc1' }), x);
    x = apply(tfl.layers.dense({ units: 4096, activation: 'relu', name: 'fc2' }), x);
  }
  x = addHead(x, o, { gap: 'global_average_pooling2d', gmp: 'global_max_pooling2d' });
  return tfl.model({ inputs: input, outputs: x, name: 'vgg16' });
}

/**
 * VGG16 as in `keras.applications.VGG16`: same layer names, weight names, shapes and order, so Keras weight files
 * (including Keras's published ImageNet weights) load into it. Inputs are `'caffe'`-preprocessed (BGR, ImageNet
 * mean subtracted): see `VGG16.preprocessing`.
 *
 * @param options - see {@link ApplicationOptions}.
 * @returns the model; it belongs to the caller (dispose it when done).
 * @throws {@link InvalidArgumentError} for bad options (e.g. `inputShape` under 32 px).
 * @throws {@link LoadError} / {@link IncompatibleModelError} when the weights cannot be read or do not fit.
 * @example
 * ```ts
 * import { applications } from 'tl-kit';
 * const base = await applications.VGG16({ weights: 'imagenet', includeTop: false, inputShape: [160, 160, 3] });
 * ```
 */
export async function VGG16(options?: VGG16Options): Promise<tfl.LayersModel> {
  const model = buildDisposingOnFailure(() => buildVGG16(options));
  return finishModel('applications.VGG16', model, { arch: 'vgg16', options });
}
