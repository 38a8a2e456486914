/**
 * Keras's published ImageNet weight files: URLs and the MD5 hashes Keras pins for them, as read from
 * `keras/src/applications/*.py` (Keras 3.15.1). MobileNetV2's files carry no pinned hash in Keras; tl-kit pins none
 * either and says so in the docs. Internal.
 */

/** One published weight file. */
export interface ImagenetFile {
  /** File name, also the cache key. */
  readonly fileName: string;
  /** Official download URL. */
  readonly url: string;
  /** MD5 hex digest Keras pins, or null where Keras pins none. */
  readonly md5: string | null;
}

const KA = 'https://storage.googleapis.com/tensorflow/keras-applications';

/** Architectures with published ImageNet weights. */
export type ImagenetArch = 'vgg16' | 'inception_v3' | 'resnet50v2' | 'resnet101v2' | 'mobilenetv2';

const FIXED: Record<Exclude<ImagenetArch, 'mobilenetv2'>, { top: ImagenetFile; noTop: ImagenetFile }> = {
  vgg16: {
    top: file(`${KA}/vgg16/`, 'vgg16_weights_tf_dim_ordering_tf_kernels.h5', '64373286793e3c8b2b4e3219cbf3544b'),
    noTop: file(`${KA}/vgg16/`, 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5', '6d6bbae143d832006294945121d1f1fc'),
  },
  inception_v3: {
    top: file(`${KA}/inception_v3/`, 'inception_v3_weights_tf_dim_ordering_tf_kernels.h5', '9a0d58056eeedaa3f26cb7ebd46da564'),
    noTop: file(
      `${KA}/inception_v3/`,
      'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5',
      'bcbd6486424b2319ff4ef7d526e38f63',
    ),
  },
  resnet50v2: {
    top: file(`${KA}/resnet/`, 'resnet50v2_weights_tf_dim_ordering_tf_kernels.h5', '3ef43a0b657b3be2300d5770ece849e0'),
    noTop: file(`${KA}/resnet/`, 'resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5', 'fac2f116257151a9d068a22e544a4917'),
  },
  resnet101v2: {
    top: file(`${KA}/resnet/`, 'resnet101v2_weights_tf_dim_ordering_tf_kernels.h5', '6343647c601c52e1368623803854d971'),
    noTop: file(`${KA}/resnet/`, 'resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5', 'c0ed64b8031c3730f411d2eb4eea35b5'),
  },
};

function file(base: string, fileName: string, md5: string | null): ImagenetFile {
  return { fileName, url: base + fileName, md5 };
}

/** Test hook: replaces the table entry for an architecture (pass undefined to restore). Not exported publicly. */
const overrides = new Map<string, ImagenetFile>();

/** Sets (or clears with `undefined`) an override for one key `${arch}:${includeTop}`; for tests only. */
export function overrideImagenetFile(arch: ImagenetArch, includeTop: boolean, entry: ImagenetFile | undefined): void {
  const key = `${arch}:${String(includeTop)}`;
  if (entry === undefined) overrides.delete(key);
  else overrides.set(key, entry);
}

/** The published file for an architecture; MobileNetV2 needs its alpha and input rows (Keras falls back to 224). */
export function imagenetFile(arch: ImagenetArch, includeTop: boolean, alpha = 1.0, rows = 224): ImagenetFile {
  const override = overrides.get(`${arch}:${String(includeTop)}`);
  if (override !== undefined) return override;
  if (arch === 'mobilenetv2') {
    const size = [96, 128, 160, 192, 224].includes(rows) ? rows : 224;
    // Keras formats alpha with Python's float(): 1.0, 0.35, 0.5 ...
    const a = Number.isInteger(alpha) ? alpha.toFixed(1) : String(alpha);
    const name = includeTop
      ? `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${a}_${size}.h5`
      : `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${a}_${size}_no_top.h5`;
    return file(`${KA}/mobilenet_v2/`, name, null);
  }
  return includeTop ? FIXED[arch].top : FIXED[arch].noTop;
}
