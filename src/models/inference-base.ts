/**
 * The frozen-base guarantee, in memory. tfjs 4.22's training executor passes `training: true` to every layer it runs
 * inside `fit`/`trainOnBatch`, overriding whatever the layer was applied with, so a BatchNormalization layer of a
 * "frozen" base normalises with batch statistics and overwrites its moving mean and variance. {@link InferenceBase}
 * is a nested model that ignores the `training` flag it receives and runs its own graph in inference mode (recursing
 * into nested models), so its BN layers always use, and never update, their moving statistics. Even a user's own
 * `model.fit` on a Wrapper model leaves them alone.
 *
 * It runs on a BN-folded, fused executor of its graph that follows its weights (see `FusedExecutorCache`). Only when
 * some base weight is trainable and a gradient tape is recording (fine-tuning) do the layers run as themselves, so
 * that gradients reach those weights.
 *
 * Serialised, it is a plain nested `Functional` model: `model.save()` and `saveClassifier` write only tfjs-layers'
 * built-in classes, which any TF.js app (or the converter back to Keras) loads. tl-kit's loaders turn the nested base
 * back into an InferenceBase.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import { FusedExecutorCache } from '../runtime/fused-cache';
import { OnnxSessionCache } from '../runtime/onnx-session-cache';
import { runInference } from '../runtime/layers-inference';
import type { EngineChoice } from '../runtime/types';

type ContainerArgs = ConstructorParameters<typeof tfl.LayersModel>[0];
type Kwargs = Record<string, unknown>;

/** A nested model that always runs its layers in inference mode, whatever `training` flag the caller passes. */
export class InferenceBase extends tfl.LayersModel {
  /** Registration name, used only in memory to restore this class from a saved `Functional` (see `restoreClasses`). */
  static override className = 'TlKitInferenceBase';

  /**
   * True when the layers belong to a caller's model (a cut of it): `dispose()` then releases only this container and
   * the folded copies, and leaves the layers' weights to their owner. False for a rebuilt or loaded base.
   */
  sharesLayers = false;
  /** Name of the base (from `loadBase` or the saved metadata), when known. */
  baseName: string | undefined;
  /** Pixel preprocessing the base expects, when known. */
  preprocessing: PreprocessingMode | undefined;
  /** The engine the pipeline runs this base on. */
  engine: EngineChoice = 'auto';
  /** ONNX Runtime execution providers for `engine` 'auto' / 'onnxruntime' (passed through). */
  executionProviders: readonly unknown[] | undefined;

  /** The fused executor of this base, current with its weights; freed by `dispose()`. */
  readonly fused: FusedExecutorCache = new FusedExecutorCache(this);
  /** Its ONNX Runtime session, converted once for the pipeline's calls and current with its weights; freed by `dispose()`. */
  readonly onnxSessions: OnnxSessionCache = new OnnxSessionCache(this);

  constructor(args: ContainerArgs) {
    super(args);
  }

  /** Saved as a plain nested model, so files stay loadable without tl-kit. */
  override getClassName(): string {
    return 'Functional';
  }

  /** Runs the graph in inference mode for every layer; the outer executor's `training` flag is ignored. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      const outs = this.runFrozen(Array.isArray(inputs) ? inputs : [inputs]);
      return outs.length === 1 ? (outs[0] as tf.Tensor) : outs;
    });
  }

  /**
   * The base's outputs in inference mode: on the fused executor, unless a trainable base weight needs gradients
   * (folded copies would not pass them on). A frozen base stays fused even under a tape, so input gradients still
   * work. Not tidied: the caller tidies.
   */
  runFrozen(inputs: readonly tf.Tensor[]): tf.Tensor[] {
    const needsLayers = tf.engine().state.gradientDepth > 0 && this.trainableWeights.length > 0;
    const executor = needsLayers ? null : this.fused.current();
    if (executor === null) return runInference(this, inputs);
    const out = executor.predict(inputs);
    return Array.isArray(out) ? out : [out];
  }

  /**
   * Frees the folded weights, and releases the layers the tfjs way (reference counted) only when this base owns
   * them; a cut of a caller's model leaves their weights alone. Idempotent.
   */
  override dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    this.fused.dispose();
    this.onnxSessions.dispose();
    if (this.sharesLayers) return { refCountAfterDispose: 0, numDisposedVariables: 0 };
    return disposeOnce(() => super.dispose());
  }

  /**
   * Only records the flag. tfjs's Container setter would overwrite every inner layer's flag, which would undo the
   * per-layer choices of `unfreeze`; inner layers carry their own `trainable` flags instead.
   */
  override get trainable(): boolean {
    return this.trainable_;
  }

  override set trainable(value: boolean) {
    this.trainable_ = value;
  }
}

/**
 * Runs a tfjs `dispose()` and turns its "already disposed" error into a no-op, so that disposing twice is harmless
 * (tfjs reference-counts containers and throws on a second dispose).
 */
export function disposeOnce(dispose: () => { refCountAfterDispose: number; numDisposedVariables: number }): {
  refCountAfterDispose: number;
  numDisposedVariables: number;
} {
  try {
    return dispose();
  } catch (err) {
    if (err instanceof Error && /already disposed/.test(err.message)) return { refCountAfterDispose: 0, numDisposedVariables: 0 };
    throw err;
  }
}
