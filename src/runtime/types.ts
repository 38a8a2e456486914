/**
 * The frozen-base runtime: one interface for every way tl-kit runs a frozen base to features. A runtime is prepared
 * once for a base and its current weights, runs batches of preprocessed images to pooled features, reports what it
 * is and what it fused, and is disposed. Implementations: the tfjs fused executor (layers bases), a tfjs graph model,
 * a worker-thread pool that runs another runtime on every core, and ONNX Runtime. Which one runs is decided in one
 * place (`models/runtime-choice.ts`), never by the pipeline.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Global pooling of a base's feature map to a feature vector; `'none'` for a base that already outputs vectors. */
export type Pooling = 'avg' | 'max' | 'none';

/** The inference engines tl-kit can run a frozen base on (internal shorthand). */
export type EngineName = 'tfjs' | 'onnxruntime';

/**
 * The engine a Wrapper model's frozen base runs on: `'auto'` picks ONNX Runtime where it can (Node, with
 * `onnxruntime-node` installed and a base that converts) and tfjs otherwise; the other two insist.
 *
 * @category bases
 */
export type EngineChoice = 'auto' | 'tfjs' | 'onnxruntime';

/** What the folding executor changed in a base's graph (`BaseRuntimeInfo.fused`; internal shorthand). */
export interface FusedGraphStats {
  /** Layer calls in the flattened graph (nested models expanded, input layers not counted). */
  readonly layers: number;
  /** Ops run per call. */
  readonly ops: number;
  /** Convolutions and Dense layers run as one fused op with their bias and activation. */
  readonly fusedLayers: number;
  /** BatchNormalization layers folded into the kernel and bias before them. */
  readonly foldedBatchNorms: number;
  /** Activation layers applied inside a fused op. */
  readonly fusedActivations: number;
  /** ZeroPadding2D layers turned into the padding of the convolution they feed. */
  readonly mergedPaddings: number;
}

/**
 * Which runtime ran a frozen base, and why: the `runtime` field of `fit`'s history params, `evaluate`'s result,
 * `compareBases` rows, a loaded classifier and the progress bar's first line.
 *
 * @example
 * ```ts
 * const result = await evaluate(model, data);
 * console.log(result.runtime?.engine, result.runtime?.fallback ?? ''); // 'onnxruntime' or 'tfjs' plus the reason
 * ```
 *
 * @category bases
 */
export interface BaseRuntimeInfo {
  /** The engine that ran the base. */
  readonly engine: 'tfjs' | 'onnxruntime';
  /**
   * `'tfjs-fused'`: tfjs with BatchNorm folded and ops fused; `'tfjs-layers'`: tfjs layer by layer; `'tfjs-graph'`:
   * a tfjs-converter graph model; `'onnxruntime'`: ONNX Runtime.
   */
  readonly implementation: 'tfjs-fused' | 'tfjs-layers' | 'tfjs-graph' | 'onnxruntime';
  /** The tfjs backend (`'wasm'`, `'cpu'`, `'webgl'`, ...) or ONNX Runtime's execution providers (`'cpu'`). */
  readonly backend: string;
  /** Worker threads running tfjs (0: the calling thread), or ONNX Runtime's intra-op threads. */
  readonly threads: number;
  /** What the folding executor changed, when it runs. */
  readonly fused?: {
    /** Layer calls in the flattened graph (nested models expanded, input layers not counted). */
    readonly layers: number;
    /** Ops run per call. */
    readonly ops: number;
    /** Convolutions and Dense layers run as one fused op with their bias and activation. */
    readonly fusedLayers: number;
    /** BatchNormalization layers folded into the kernel and bias before them. */
    readonly foldedBatchNorms: number;
    /** Activation layers applied inside a fused op. */
    readonly fusedActivations: number;
    /** ZeroPadding2D layers turned into the padding of the convolution they feed. */
    readonly mergedPaddings: number;
  };
  /** Why `engine: 'auto'` did not use ONNX Runtime, when it did not; absent when nothing fell back. */
  readonly fallback?: string;
  /** One line for logs and reports, e.g. `onnxruntime on cpu (2 threads, 52 BatchNorms folded)` or `tfjs-fused on wasm (52 BatchNorms folded)`. */
  readonly summary: string;
}

/** A prepared frozen base. `dispose()` frees what the runtime created, never the base itself. */
export interface FrozenRuntime {
  /** What runs the base. */
  readonly info: BaseRuntimeInfo;
  /** Batches worth keeping in flight so no thread idles (1 for the calling thread). */
  readonly concurrency: number;
  /**
   * Pooled features `[batch, featureSize]` of preprocessed images `[batch, h, w, c]`. The caller owns the result.
   * Calls may overlap: each resolves with its own batch's features.
   */
  extract(images: tf.Tensor4D): Promise<tf.Tensor2D>;
  /** Frees the runtime's tensors, threads or sessions. Idempotent. */
  dispose(): Promise<void>;
}
