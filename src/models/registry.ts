/**
 * Well-known pretrained bases with their official URLs, so that `loadBase('mobilenet_v2')` works for users with
 * internet. TF Hub (tfhub.dev) now redirects to Kaggle Models; for production, download a model once and self-host it
 * (or rely on tl-kit's Node download cache), which is the reliable route.
 *
 * @module
 */
import type { PreprocessingMode } from '../data/types';

/**
 * A registry entry: where a base lives and how to feed and cut it.
 *
 * @category bases
 */
export interface KnownBase {
  /** Registry name, e.g. `'mobilenet_v2'`. */
  readonly name: string;
  /** Official URL of the `model.json`. */
  readonly url: string;
  /** `'layers'` (tf.LayersModel, can be cut, rebuilt and fine-tuned) or `'graph'` (frozen feature extractor). */
  readonly format: 'layers' | 'graph';
  /** `[height, width, channels]` the base was trained at. */
  readonly inputShape: readonly [number, number, number];
  /** Pixel scaling it expects. */
  readonly preprocessing: PreprocessingMode;
  /** Layer to cut a layers model at (undefined: use its output). */
  readonly cutAt?: string;
  /** Length of the pooled feature vector. */
  readonly featureSize: number;
  /** One line on what it is. */
  readonly description: string;
  /**
   * Origins besides the URL's own that its host redirects downloads to (TF Hub sends them to Kaggle, which serves
   * them from Google Cloud Storage). Redirects anywhere else are refused.
   */
  readonly redirectOrigins?: readonly string[];
}

const TFJS_MODELS = 'https://storage.googleapis.com/tfjs-models/tfjs';
const TEACHABLE = 'https://storage.googleapis.com/teachable-machine-models';
const TFHUB = 'https://tfhub.dev/google/tfjs-model/imagenet';
/** Where tfhub.dev redirects model downloads: Kaggle Models, which serves the files from Google Cloud Storage. */
const KAGGLE_ORIGINS: readonly string[] = Object.freeze(['https://www.kaggle.com', 'https://storage.googleapis.com']);

function mobilenetV1(alpha: string, features: number): KnownBase {
  return {
    name: `mobilenet_v1_${alpha}`,
    url: `${TFJS_MODELS}/mobilenet_v1_${alpha}_224/model.json`,
    format: 'layers',
    inputShape: [224, 224, 3],
    preprocessing: 'tf',
    cutAt: 'conv_pw_13_relu',
    featureSize: features,
    description: `tfjs-models MobileNet v1 (alpha ${alpha}, ImageNet), layers model with its classifier; cut at conv_pw_13_relu`,
  };
}

function mobilenetV2(alpha: string, name: string, features: number): KnownBase {
  return {
    name,
    url: `${TEACHABLE}/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${alpha}_224_no_top/model.json`,
    format: 'layers',
    inputShape: [224, 224, 3],
    preprocessing: 'tf',
    cutAt: 'out_relu',
    featureSize: features,
    description: `Keras MobileNetV2 (alpha ${alpha}, ImageNet, no top) as hosted by Teachable Machine; cut at out_relu`,
  };
}

function tfhub(name: string, path: string, size: number, features: number, what: string): KnownBase {
  return {
    name,
    url: `${TFHUB}/${path}/model.json?tfjs-format=file`,
    format: 'graph',
    inputShape: [size, size, 3],
    preprocessing: 'unit',
    featureSize: features,
    description: `TF Hub ${what} feature vector (ImageNet), graph model; redirects to Kaggle Models`,
    redirectOrigins: KAGGLE_ORIGINS,
  };
}

/**
 * The registry, in a stable order: every name {@link loadBase} and the CLI's `--base` accept, with its download URL,
 * input size, preprocessing and feature size.
 *
 * @example
 * ```ts
 * import { KNOWN_BASES } from 'tl-kit';
 * for (const base of KNOWN_BASES) console.log(base.name, base.inputShape, base.description);
 * ```
 *
 * @category bases
 */
export const KNOWN_BASES: readonly KnownBase[] = Object.freeze(
  [
  mobilenetV2('1.00', 'mobilenet_v2', 1280),
  mobilenetV2('0.35', 'mobilenet_v2_0.35', 1280),
  mobilenetV2('0.50', 'mobilenet_v2_0.50', 1280),
  mobilenetV2('0.75', 'mobilenet_v2_0.75', 1280),
  mobilenetV1('1.0', 1024),
  mobilenetV1('0.75', 768),
  mobilenetV1('0.50', 512),
  mobilenetV1('0.25', 256),
  tfhub('tfhub_mobilenet_v2', 'mobilenet_v2_100_224/feature_vector/3/default/1', 224, 1280, 'MobileNet v2 1.0'),
  tfhub('tfhub_mobilenet_v3_small', 'mobilenet_v3_small_100_224/feature_vector/5/default/1', 224, 1024, 'MobileNet v3 small'),
  tfhub('tfhub_mobilenet_v3_large', 'mobilenet_v3_large_100_224/feature_vector/5/default/1', 224, 1280, 'MobileNet v3 large'),
  tfhub('tfhub_resnet_v2_50', 'resnet_v2_50/feature_vector/3/default/1', 224, 2048, 'ResNet v2 50'),
  tfhub('tfhub_inception_v3', 'inception_v3/feature_vector/3/default/1', 299, 2048, 'Inception v3'),
  ].map((b) => Object.freeze(b)),
);

/** The entry named `name`, if any. */
export function findKnownBase(name: string): KnownBase | undefined {
  return KNOWN_BASES.find((b) => b.name === name);
}
