/**
 * What a pretrained base is: the model plus what a user must know to feed it (input size, pixel preprocessing) and
 * where to cut it. `loadBase` returns one; `Wrapper` accepts one in place of a bare model.
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import type { OnnxBaseModel } from '../runtime/onnx/base-model';

/**
 * The part of a tfjs-converter `GraphModel` that tl-kit uses. tl-kit never imports tfjs-converter in its core: any
 * object with these members works (a `tf.GraphModel` from `@tensorflow/tfjs-converter` has them).
 *
 * @category bases
 */
export interface GraphModelLike {
  /** Runs the graph synchronously and returns the tensors of the named output nodes. */
  execute(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  /** The graph's inputs; the first one takes images `[batch, height, width, channels]`. */
  readonly inputs: readonly {
    /** Node name, e.g. `'serving_default_inputs:0'`. */
    readonly name: string;
    /** Shape with `-1` or `null` for unknown dimensions, when the graph declares it. */
    readonly shape?: readonly (number | null)[];
    /** Data type, when the graph declares it. */
    readonly dtype?: string;
  }[];
  /** The graph's outputs. */
  readonly outputs: readonly {
    /** Node name, e.g. `'module_apply_default/hub_output/feature_vector/SpatialSqueeze'`. */
    readonly name: string;
    /** Shape with `-1` or `null` for unknown dimensions, when the graph declares it. */
    readonly shape?: readonly (number | null)[];
    /** Data type, when the graph declares it. */
    readonly dtype?: string;
  }[];
}


/**
 * A pretrained base with the facts needed to use it. Returned by `loadBase`; accepted by `Wrapper`.
 *
 * @category bases
 */
export interface BaseSpec {
  /** Marks the object as a base spec (so Wrapper can tell it from a model). */
  readonly kind: 'tl-kit-base';
  /** A short name, e.g. `'mobilenet_v2'` or the URL it was loaded from. */
  readonly name: string;
  /**
   * The loaded model. It belongs to the caller: `Wrapper` shares its layers and never disposes it. An ONNX base
   * (`loadOnnxBase`) is plain data describing the ONNX file, run by ONNX Runtime.
   */
  readonly model: tfl.LayersModel | GraphModelLike | OnnxBaseModel;
  /** `[height, width, channels]` the base expects. */
  readonly inputShape: readonly [number, number, number];
  /** Pixel scaling the base was trained with; give the same to the data loader. */
  readonly preprocessing: PreprocessingMode;
  /** Layer to cut a layers model at (its feature map); undefined to use the model's own output. */
  readonly cutAt?: string;
  /** Output node of a graph model to use as features; undefined for the graph's first output. */
  readonly outputNode?: string;
}

/** True when `value` is a {@link BaseSpec}. */
export function isBaseSpec(value: unknown): value is BaseSpec {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tl-kit-base';
}

/** True when `value` looks like a tfjs-converter GraphModel (duck-typed: `execute`, `inputs`, `outputs`). */
export function isGraphModelLike(value: unknown): value is GraphModelLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<GraphModelLike>;
  return typeof v.execute === 'function' && Array.isArray(v.inputs) && Array.isArray(v.outputs);
}
