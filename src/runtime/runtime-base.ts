/** What every frozen-base runtime shares: input checks, pooling, and one way to report use after dispose. */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, disposedError } from '../errors';
import type { BaseRuntimeInfo, FrozenRuntime, Pooling } from './types';

/** Pools a base's output to `[batch, features]`: over space for a map, identity for vectors. Not tidied. */
export function poolFeatures(output: tf.Tensor, pooling: Pooling): tf.Tensor2D {
  if (output.rank === 2 || pooling === 'none') return output.rank === 2 ? (output as tf.Tensor2D) : tf.reshape(output, [output.shape[0] as number, -1]);
  const axes = output.rank === 4 ? [1, 2] : [1];
  return (pooling === 'avg' ? tf.mean(output, axes) : tf.max(output, axes)) as tf.Tensor2D;
}

/** The parts of a runtime that differ between implementations. */
export interface RuntimeCore {
  readonly info: BaseRuntimeInfo;
  readonly concurrency: number;
  /** Pooled features of a validated batch; the caller owns the result. */
  run(images: tf.Tensor4D): Promise<tf.Tensor2D>;
  /** Frees what the implementation created. Called once. */
  close(): Promise<void>;
}

/**
 * Wraps an implementation into a {@link FrozenRuntime}: checks each batch against `[batch, h, w, c]` before it
 * reaches the engine, raises `DISPOSED` after `dispose()`, and makes `dispose()` idempotent.
 */
export function makeRuntime(inputShape: readonly [number, number, number], core: RuntimeCore): FrozenRuntime {
  const [h, w, c] = inputShape;
  let disposed = false;
  const call = 'FrozenRuntime.extract';
  return {
    info: core.info,
    concurrency: core.concurrency,
    extract: async (images) => {
      if (disposed) throw disposedError(call, 'the frozen-base runtime');
      if (!(images instanceof tf.Tensor) || images.rank !== 4 || images.shape[0] < 1 || images.isDisposed) {
        throw new InvalidArgumentError(call, 'images', 'a live [batch >= 1, h, w, c] tensor', images instanceof tf.Tensor ? images.shape : images);
      }
      if (images.shape[1] !== h || images.shape[2] !== w || images.shape[3] !== c) {
        throw new InvalidArgumentError(call, 'images', `a [batch, ${h}, ${w}, ${c}] tensor`, images.shape);
      }
      return core.run(images);
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await core.close();
    },
  };
}

/** Short text of a tfjs runtime for logs: `tfjs-fused on wasm (52 BatchNorms folded, 2 threads)`. */
export function tfjsSummary(info: Omit<BaseRuntimeInfo, 'summary'>): string {
  const notes: string[] = [];
  if (info.fused) notes.push(`${info.fused.foldedBatchNorms} BatchNorm${info.fused.foldedBatchNorms === 1 ? '' : 's'} folded`);
  if (info.threads > 1) notes.push(`${info.threads} worker threads`);
  const text = `${info.implementation} on ${info.backend}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
  return info.fallback ? `${text}; ${info.fallback}` : text;
}
