/**
 * The plain-data description of an ONNX model used as a frozen base: what `loadOnnxBase` puts in a base spec's
 * `model`, and what the ONNX Runtime engine needs to run it.
 *
 * @module
 */
import type { OnnxLayout } from './session';

/**
 * An ONNX image model as a frozen base. It holds the model's bytes and what tl-kit needs to feed it; it is plain data
 * (no session, nothing to dispose): the engine creates ONNX Runtime sessions from `bytes` when it runs the base.
 *
 * @example
 * ```ts
 * const base = await loadOnnxBase('./resnet18.onnx');
 * if (isOnnxBaseModel(base.model)) console.log(base.model.layout, base.model.outputShape); // 'NCHW' [null, 512]
 * ```
 *
 * @category bases
 */
export interface OnnxBaseModel {
  /** Marks the object as an ONNX base. */
  readonly kind: 'onnx';
  /** The serialised ONNX ModelProto (kept by reference: do not modify it). */
  readonly bytes: Uint8Array;
  /** The graph input that takes the images. */
  readonly inputName: string;
  /** The graph output that gives the features. */
  readonly outputName: string;
  /** Axis order of the image input (`run` transposes tfjs's NHWC batches for an NCHW model). */
  readonly layout: 'NCHW' | 'NHWC';
  /** `[height, width, channels]` of the images fed to it. */
  readonly inputShape: readonly [number, number, number];
  /**
   * Shape of the features, batch first (null), in tfjs's order: a rank-4 map of an NCHW model is given (and returned by
   * the session) as NHWC.
   */
  readonly outputShape: readonly (number | null)[];
}

/**
 * True when `value` is an {@link OnnxBaseModel}.
 *
 * @example
 * ```ts
 * isOnnxBaseModel(spec.model); // true for a base from loadOnnxBase
 * ```
 */
export function isOnnxBaseModel(value: unknown): value is OnnxBaseModel {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<OnnxBaseModel>;
  return (
    v.kind === 'onnx' &&
    v.bytes instanceof Uint8Array &&
    typeof v.inputName === 'string' &&
    typeof v.outputName === 'string' &&
    (v.layout === 'NCHW' || v.layout === 'NHWC') &&
    Array.isArray(v.inputShape) &&
    Array.isArray(v.outputShape)
  );
}
