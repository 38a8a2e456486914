/**
 * Feature extraction for a frozen base: images -> pooled features `[batch, featureSize]`, in inference mode.
 * This is the contract the pipeline calls; the speed work (BN folding, fused ops, worker threads) lives behind it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WrapperParts } from '../models/parts';

/** Options of {@link createFeatureExtractor}. */
export interface FeatureExtractorOptions {
  /** Use the BN-folded, fused executor when the base is a frozen LayersModel. Default true. */
  readonly fused?: boolean;
  /** Worker threads for extraction in Node with cpu/wasm backends; 0 or 1 = this thread. Default 0. */
  readonly workers?: number;
}

/** Runs a frozen base plus pooling. `dispose()` frees what the extractor created (never the base). */
export interface FeatureExtractor {
  /** Features for a batch of preprocessed images; the caller owns (and disposes) the result. */
  extract(images: tf.Tensor4D): Promise<tf.Tensor2D>;
  /** Number of worker threads in use (0 = this thread). */
  readonly workers: number;
  /** Frees the extractor's own tensors and threads. */
  dispose(): Promise<void>;
}

/** Builds a feature extractor for the frozen base of a wrapped model. */
export async function createFeatureExtractor(
  parts: WrapperParts,
  _options: FeatureExtractorOptions = {},
): Promise<FeatureExtractor> {
  return {
    workers: 0,
    extract: async (images) => tf.tidy(() => parts.pool(parts.runBase(images))),
    dispose: async () => {},
  };
}
