/**
 * An ONNX file as a Wrapper base. ONNX Runtime runs only asynchronously, so inside a tfjs model (whose `predict` is
 * synchronous) the base cannot run: this layer carries the model's description for tl-kit's pipeline, which runs it
 * on ONNX Runtime, and throws a typed error naming the asynchronous call to use when tfjs asks it to compute.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import { UnsupportedError } from '../errors';
import type { OnnxBaseModel } from '../runtime/onnx/base-model';
import type { EngineChoice } from '../runtime/types';

/** Layer standing for an ONNX base inside a Wrapper model. */
export class OnnxBaseLayer extends tfl.layers.Layer {
  /** Class name (the layer refuses to serialise: a classifier saves the ONNX file beside its head). */
  static className = 'TlKitOnnxBase';
  /** The ONNX model; plain data, shared with the spec it came from. */
  readonly onnx: OnnxBaseModel;
  /** Name of the base, when known. */
  baseName: string | undefined;
  /** Pixel preprocessing the base expects, when known. */
  preprocessing: PreprocessingMode | undefined;
  /** Always ONNX Runtime for an ONNX base. */
  engine: EngineChoice = 'onnxruntime';
  /** ONNX Runtime execution providers, passed through. */
  executionProviders: readonly unknown[] | undefined;

  constructor(onnx: OnnxBaseModel) {
    super({ name: 'tlkit_onnx_base', trainable: false });
    this.onnx = onnx;
  }

  override computeOutputShape(): (number | null)[] {
    return [null, ...this.onnx.outputShape.slice(1)];
  }

  override call(): tf.Tensor {
    throw new UnsupportedError(
      "the model's base is an ONNX model, which runs on ONNX Runtime only and asynchronously: model.predict and " +
        "tfjs's own fit cannot run it; use loadClassifier(...).predict, evaluate or tl-kit's fit (on cached features)",
    );
  }

  override getConfig(): never {
    throw new UnsupportedError(
      'a Wrapper model over an ONNX base cannot be serialised as one layers model; saveClassifier saves its head and the ONNX file side by side',
    );
  }
}
