/**
 * Options, validation and layer helpers shared by the `applications` builders. Internal except for the exported
 * option types.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from '../errors';
import { MAX_CLASSES, MAX_IMAGE_SIDE, checkIntegerInRange, checkOneOf, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { isKerasFileSource, type KerasFileSource } from '../keras/source';

/**
 * Where a builder's weights come from: `null` keeps the random initialisation, `'imagenet'` downloads Keras's
 * published ImageNet weights (hash-checked, cached on disk in Node), anything else is a Keras `.h5`/`.keras` file.
 *
 * @category bases
 */
export type ApplicationWeights = null | 'imagenet' | KerasFileSource;

/**
 * Options shared by every `applications` builder; the names follow `keras.applications` in camel case.
 *
 * @category bases
 */
export interface ApplicationOptions {
  /**
   * Include the ImageNet classifier (Keras `include_top`). Set `false` for a transfer-learning base.
   * @defaultValue true
   */
  readonly includeTop?: boolean;
  /**
   * `null` (random init), `'imagenet'`, or a Keras weights file (path, URL or bytes). Unlike Keras, whose default is
   * `'imagenet'`, nothing is downloaded unless asked for.
   * @defaultValue null
   */
  readonly weights?: ApplicationWeights;
  /**
   * `[height, width, 3]` of the input. With `includeTop` and ImageNet weights it must be the architecture's default
   * (MobileNetV2: 96, 128, 160, 192 or 224 square).
   * @defaultValue the architecture's default (224 x 224; 299 x 299 for InceptionV3)
   */
  readonly inputShape?: readonly [number, number, number];
  /**
   * With `includeTop: false`: `null` returns the 4-D feature map, `'avg'`/`'max'` add global pooling.
   * @defaultValue null
   */
  readonly pooling?: 'avg' | 'max' | null;
  /**
   * Number of classes of the classifier (only with `includeTop`); must be 1000 with ImageNet weights.
   * @defaultValue 1000
   */
  readonly classes?: number;
  /**
   * Activation of the classifier (Keras `classifier_activation`): `'softmax'`, or `'linear'` for logits.
   * @defaultValue 'softmax'
   */
  readonly classifierActivation?: 'softmax' | 'linear';
  /**
   * Folder of the on-disk cache for `weights: 'imagenet'` in Node (the same cache as `loadBase`). Ignored in browsers.
   * @defaultValue `$TLKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/tl-kit/models`, else `~/.cache/tl-kit/models`
   */
  readonly cacheDir?: string;
}

/** Options resolved once, with defaults applied. */
export interface ResolvedOptions {
  readonly includeTop: boolean;
  readonly weights: ApplicationWeights;
  readonly inputShape: [number, number, number];
  readonly pooling: 'avg' | 'max' | null;
  readonly classes: number;
  readonly classifierActivation: 'softmax' | 'linear';
  readonly cacheDir: string | undefined;
}

/** Every ApplicationOptions name, so a misspelt one is refused. */
const OPTION_KEYS: Readonly<Record<keyof ApplicationOptions, true>> = {
  includeTop: true,
  weights: true,
  inputShape: true,
  pooling: true,
  classes: true,
  classifierActivation: true,
  cacheDir: true,
};

/** The options whose documentation lists `null` as a value; `null` is refused for the others. */
const NULLABLE: readonly (keyof ApplicationOptions)[] = ['weights', 'pooling'];

/** What each architecture tells the shared validation. */
export interface ArchitectureSpec {
  readonly call: string;
  readonly defaultSize: number;
  readonly minSize: number;
  /** Option names the architecture adds to {@link ApplicationOptions} (MobileNetV2's `alpha`). */
  readonly extraKeys?: readonly string[];
  /** Square sizes with published ImageNet classifier weights (default: only `defaultSize`). */
  readonly topSizes?: readonly number[];
}

/** Validates and resolves the shared options (Keras's `obtain_input_shape` rules). */
export function resolveOptions(spec: ArchitectureSpec, options: ApplicationOptions | undefined): ResolvedOptions {
  const { call } = spec;
  checkOptionsObject(call, options);
  const known: Record<keyof ApplicationOptions, true> & Record<string, true> = { ...OPTION_KEYS };
  for (const key of spec.extraKeys ?? []) known[key] = true;
  checkOptionKeys<ApplicationOptions>(call, options, known, NULLABLE);
  const o = options ?? {};
  const includeTop = o.includeTop ?? true;
  if (typeof includeTop !== 'boolean') throw new InvalidArgumentError(call, 'includeTop', 'a boolean', includeTop);
  const weights = o.weights ?? null;
  if (weights !== null && weights !== 'imagenet' && !isKerasFileSource(weights)) {
    throw new InvalidArgumentError(call, 'weights', "null, 'imagenet', a path, a URL or bytes", weights);
  }
  const pooling = o.pooling ?? null;
  if (pooling !== null) checkOneOf(call, 'pooling', pooling, ['avg', 'max'] as const);
  const classes = o.classes ?? 1000;
  checkIntegerInRange(call, 'classes', classes, 1, MAX_CLASSES);
  const classifierActivation = o.classifierActivation ?? 'softmax';
  checkOneOf(call, 'classifierActivation', classifierActivation, ['softmax', 'linear'] as const);
  if (weights === 'imagenet' && includeTop && classes !== 1000) {
    throw new InvalidArgumentError(call, 'classes', "1000 with weights 'imagenet' and includeTop", classes);
  }
  const d = spec.defaultSize;
  const inputShape = o.inputShape ?? ([d, d, 3] as const);
  const valid =
    Array.isArray(inputShape) &&
    inputShape.length === 3 &&
    inputShape.every((v) => Number.isInteger(v) && v > 0) &&
    inputShape[2] === 3 &&
    inputShape[0] >= spec.minSize &&
    inputShape[1] >= spec.minSize;
  if (!valid) {
    throw new InvalidArgumentError(
      call,
      'inputShape',
      `[height, width, 3] with height and width integers >= ${spec.minSize}`,
      inputShape,
    );
  }
  if (inputShape[0] > MAX_IMAGE_SIDE || inputShape[1] > MAX_IMAGE_SIDE) {
    throw new InvalidArgumentError(call, 'inputShape', `[height, width, 3] with height and width at most ${MAX_IMAGE_SIDE}`, inputShape);
  }
  const topSizes = spec.topSizes ?? [d];
  if (weights === 'imagenet' && includeTop && (inputShape[0] !== inputShape[1] || !topSizes.includes(inputShape[0]))) {
    const allowed = topSizes.map((t) => `[${t}, ${t}, 3]`).join(' or ');
    throw new InvalidArgumentError(call, 'inputShape', `${allowed} with weights 'imagenet' and includeTop`, inputShape);
  }
  if (o.cacheDir !== undefined && (typeof o.cacheDir !== 'string' || o.cacheDir.length === 0)) {
    throw new InvalidArgumentError(call, 'cacheDir', 'a non-empty string', o.cacheDir);
  }
  return {
    includeTop,
    weights,
    inputShape: [inputShape[0], inputShape[1], inputShape[2]],
    pooling,
    classes,
    classifierActivation,
    cacheDir: o.cacheDir,
  };
}

/**
 * Runs a synchronous graph build and, when it throws, disposes every variable it created: a build that fails half way
 * (an allocation refused by the backend) would otherwise leave the weights of the layers built so far alive, with no
 * model to dispose them through. Builds are synchronous, so no other code registers variables meanwhile.
 */
export function buildDisposingOnFailure<T>(build: () => T): T {
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    return build();
  } catch (err) {
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!before.has(name)) variable.dispose();
    }
    throw err;
  }
}

/**
 * Names unnamed layers the way Keras 3 does in a fresh session (`conv2d`, `conv2d_1`, ...), so that builders whose
 * Keras original leaves layers unnamed (InceptionV3) still carry Keras's names.
 */
export class AutoNamer {
  private readonly counts = new Map<string, number>();

  /** The next name for the prefix (`conv2d`, then `conv2d_1`, ...). */
  next(prefix: string): string {
    const n = this.counts.get(prefix) ?? 0;
    this.counts.set(prefix, n + 1);
    return n === 0 ? prefix : `${prefix}_${n}`;
  }
}

/** Applies a layer to one symbolic tensor (or a list, for merge layers). */
export function apply(layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor {
  return layer.apply(x) as tfl.SymbolicTensor;
}

/** The classifier or pooling head that every Keras application ends with. */
export function addHead(
  x: tfl.SymbolicTensor,
  o: ResolvedOptions,
  names: { readonly gap: string; readonly gmp: string; readonly topPool?: string },
): tfl.SymbolicTensor {
  if (o.includeTop) {
    let y = x;
    if (names.topPool !== undefined) y = apply(tfl.layers.globalAveragePooling2d({ name: names.topPool }), y);
    return apply(tfl.layers.dense({ units: o.classes, activation: o.classifierActivation, name: 'predictions' }), y);
  }
  if (o.pooling === 'avg') return apply(tfl.layers.globalAveragePooling2d({ name: names.gap }), x);
  if (o.pooling === 'max') return apply(tfl.layers.globalMaxPooling2d({ name: names.gmp }), x);
  return x;
}
