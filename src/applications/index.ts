/**
 * `applications`: Keras's `keras.applications` architectures as tfjs-layers models, each with the preprocessing mode
 * its ImageNet weights expect.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import { InceptionV3 as inceptionV3, type InceptionV3Options } from './inception-v3';
import { MobileNetV2 as mobileNetV2, type MobileNetV2Options } from './mobilenet-v2';
import { ResNet101V2 as resNet101V2, ResNet50V2 as resNet50V2, type ResNetV2Options } from './resnet-v2';
import { VGG16 as vgg16, type VGG16Options } from './vgg16';

/**
 * A builder of `applications`, carrying the preprocessing its ImageNet weights expect and its default input.
 *
 * @category bases
 */
export interface ApplicationBuilder<O> {
  /** Builds the model (and loads weights when asked). */
  (options?: O): Promise<tfl.LayersModel>;
  /** The Keras preprocessing mode for this architecture, ready for the DataLoader's `preprocessing` option. */
  readonly preprocessing: PreprocessingMode;
  /** `[height, width, 3]` used when `inputShape` is not given. */
  readonly defaultInputShape: readonly [number, number, number];
}

function builder<O>(fn: (options?: O) => Promise<tfl.LayersModel>, preprocessing: PreprocessingMode, size: number): ApplicationBuilder<O> {
  return Object.assign((options?: O) => fn(options), { preprocessing, defaultInputShape: [size, size, 3] as const });
}

/**
 * Names of the architectures in {@link applications}.
 *
 * @category bases
 */
export type ApplicationName = 'VGG16' | 'InceptionV3' | 'ResNet50V2' | 'ResNet101V2' | 'MobileNetV2';

/**
 * Keras's application architectures with Keras's layer names, weight names, shapes and order, so that Keras weight
 * files (and Keras's published ImageNet weights, `weights: 'imagenet'`) load into them. Each builder carries its
 * `preprocessing` mode: `'caffe'` for VGG16, `'tf'` ([-1, 1]) for the others.
 *
 * @example
 * ```ts
 * import { applications, DataLoader, Wrapper } from 'tl-kit';
 * const base = await applications.VGG16({ weights: 'imagenet', includeTop: false, inputShape: [160, 160, 3] });
 * const data = await DataLoader.fromDirectory('photos', { imageSize: [160, 160], preprocessing: applications.VGG16.preprocessing });
 * const model = Wrapper(base, { numClasses: 2 });
 * ```
 *
 * @category bases
 */
export const applications: {
  /** VGG16 (`keras.applications.VGG16`), caffe preprocessing, 224 px. */
  readonly VGG16: ApplicationBuilder<VGG16Options>;
  /** InceptionV3 (`keras.applications.InceptionV3`), tf preprocessing, 299 px. */
  readonly InceptionV3: ApplicationBuilder<InceptionV3Options>;
  /** ResNet50V2 (`keras.applications.ResNet50V2`), tf preprocessing, 224 px. */
  readonly ResNet50V2: ApplicationBuilder<ResNetV2Options>;
  /** ResNet101V2 (`keras.applications.ResNet101V2`), tf preprocessing, 224 px. */
  readonly ResNet101V2: ApplicationBuilder<ResNetV2Options>;
  /** MobileNetV2 (`keras.applications.MobileNetV2`), tf preprocessing, 224 px. */
  readonly MobileNetV2: ApplicationBuilder<MobileNetV2Options>;
} = {
  VGG16: builder(vgg16, 'caffe', 224),
  InceptionV3: builder(inceptionV3, 'tf', 299),
  ResNet50V2: builder(resNet50V2, 'tf', 224),
  ResNet101V2: builder(resNet101V2, 'tf', 224),
  MobileNetV2: builder(mobileNetV2, 'tf', 224),
};

