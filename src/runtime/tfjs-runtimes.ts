/**
 * The tfjs implementations of the frozen-base runtime on the calling thread: a layers base through its BN-folded,
 * fused executor (or layer by layer where it cannot be planned), and a tfjs-converter graph model.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FusedExecutorCache } from './fused-cache';
import { runInference } from './layers-inference';
import { makeRuntime, poolFeatures, tfjsSummary } from './runtime-base';
import type { BaseRuntimeInfo, FrozenRuntime, Pooling } from './types';

/** Options of {@link tfjsLayersRuntime}. */
export interface LayersRuntimeOptions {
  /** The base's image shape `[h, w, c]`. */
  readonly inputShape: readonly [number, number, number];
  /** Pooling of the base's output. */
  readonly pooling: Pooling;
  /** Run the fused executor (true) or the layers one by one (false). */
  readonly fused: boolean;
  /**
   * An executor cache the base keeps for its own predictions (shared, never disposed here); without it the runtime
   * folds its own copy and frees it on dispose.
   */
  readonly sharedCache?: FusedExecutorCache;
  /** Why 'auto' did not pick another engine, to report. */
  readonly fallback?: string;
}

/** A layers base on this thread. The base stays its owner's. */
export function tfjsLayersRuntime(base: tfl.LayersModel, options: LayersRuntimeOptions): FrozenRuntime {
  const cache = options.fused ? (options.sharedCache ?? new FusedExecutorCache(base)) : undefined;
  const ownsCache = cache !== undefined && options.sharedCache === undefined;
  const executor = cache?.current() ?? null;
  const partial: Omit<BaseRuntimeInfo, 'summary'> = {
    engine: 'tfjs',
    implementation: executor ? 'tfjs-fused' : 'tfjs-layers',
    backend: tf.getBackend(),
    threads: 0,
    ...(executor ? { fused: { ...executor.stats } } : {}),
    ...(options.fallback ? { fallback: options.fallback } : {}),
  };
  return makeRuntime(options.inputShape, {
    info: { ...partial, summary: tfjsSummary(partial) },
    concurrency: 1,
    run: async (images) =>
      tf.tidy(() => {
        const current = cache?.current() ?? null;
        const out = current ? (current.predict(images) as tf.Tensor) : (runInference(base, [images])[0] as tf.Tensor);
        return poolFeatures(out, options.pooling);
      }),
    close: async () => {
      if (ownsCache) cache.dispose();
    },
  });
}

/** The part of a tfjs-converter GraphModel a graph runtime uses. */
export interface ExecutableGraph {
  execute(inputs: tf.Tensor, outputs?: string): tf.Tensor | tf.Tensor[];
  readonly outputs: readonly { readonly name: string }[];
}

/** Runs `graph` on a batch and returns `outputNode` (or the graph's first output). Not tidied. */
export function runGraph(graph: ExecutableGraph, images: tf.Tensor, outputNode: string | undefined): tf.Tensor {
  const out = graph.execute(images, outputNode ?? (graph.outputs[0] as { name: string }).name);
  return Array.isArray(out) ? (out[0] as tf.Tensor) : out;
}

/** A tfjs-converter graph model on this thread. The graph stays its owner's. */
export function tfjsGraphRuntime(
  graph: ExecutableGraph,
  options: { readonly inputShape: readonly [number, number, number]; readonly pooling: Pooling; readonly outputNode?: string; readonly fallback?: string },
): FrozenRuntime {
  const partial: Omit<BaseRuntimeInfo, 'summary'> = {
    engine: 'tfjs',
    implementation: 'tfjs-graph',
    backend: tf.getBackend(),
    threads: 0,
    ...(options.fallback ? { fallback: options.fallback } : {}),
  };
  return makeRuntime(options.inputShape, {
    info: { ...partial, summary: tfjsSummary(partial) },
    concurrency: 1,
    run: async (images) => tf.tidy(() => poolFeatures(runGraph(graph, images, options.outputNode), options.pooling)),
    close: async () => {},
  });
}
