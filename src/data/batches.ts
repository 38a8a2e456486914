/**
 * Batch streaming: a seeded per-epoch order over index arrays, decodes prefetched with bounded concurrency, and one
 * tensor batch built per step. Only the batch being yielded exists as tensors; prefetched images are plain bytes.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { prefetchMap } from '../internal/concurrency';
import { DecodeFailure } from './decode-error';
import type { DecodeTarget } from './node-decode';
import type { RgbPixels } from './pixels';
import { AFFINE, affineInto, prepareBatch } from './prepare';
import type { Batch, LabelMode, PreprocessingMode, ResizeMode } from './types';

/** Where a loader's samples come from. `load` throws a {@link DecodeFailure} for a bad sample. */
export interface SampleStore {
  /** Sample ids, index = sample. */
  readonly ids: readonly string[];
  /** Class index per sample. */
  readonly labels: readonly number[];
  /** Decodes sample `i` (to `target` when the decoder can resize). */
  load(i: number, target: DecodeTarget | undefined): Promise<RgbPixels>;
  /** Frees what the store holds (cloned tensors). */
  dispose(): void;
}

/** What a batch stream needs to know about its loader. */
export interface BatchContext {
  readonly call: string;
  readonly store: SampleStore;
  readonly imageSize: readonly [number, number];
  readonly resize: ResizeMode;
  readonly preprocessing: PreprocessingMode;
  readonly labelMode: LabelMode;
  readonly numClasses: number;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Cache of decoded images (`cache: 'memory'`), or undefined. */
  readonly cache: Map<number, RgbPixels> | undefined;
  /** Called when a sample fails to decode during iteration (it is then dropped from its split). */
  onFailure(index: number, reason: string): void;
  /** Throws when the loader was disposed. */
  checkAlive(): void;
  /** False once the loader was disposed (a decode that finishes afterwards is not cached). */
  isAlive(): boolean;
}

/** Builds one batch from decoded images: tensors exist only inside this call's tidy and in its result. */
export function makeBatch(ctx: BatchContext, items: readonly { pixels: RgbPixels; label: number }[]): Batch {
  const [h, w] = ctx.imageSize;
  return tf.tidy(() => {
    let xs: tf.Tensor4D;
    if (typeof ctx.preprocessing !== 'function' && items.every((it) => it.pixels.height === h && it.pixels.width === w)) {
      // Already at the target size (sharp resized them): one pass over the bytes applies the mode's affine map in
      // float32, the same values prepareBatch's tfjs ops give, without per-image tensors, a stack and broadcast ops
      // (together ~10x slower on the cpu backend).
      const size = h * w * 3;
      const floats = new Float32Array(items.length * size);
      const affine = AFFINE[ctx.preprocessing];
      items.forEach((it, k) => affineInto(floats, k * size, it.pixels.data, affine));
      xs = tf.tensor4d(floats, [items.length, h, w, 3]);
    } else {
      const images = items.map((it) => tf.tensor3d(it.pixels.data, [it.pixels.height, it.pixels.width, 3], 'int32'));
      xs = prepareBatch(ctx.call, images, ctx.imageSize, ctx.resize, ctx.preprocessing);
    }
    const labels = items.map((it) => it.label);
    const ys =
      ctx.labelMode === 'binary'
        ? tf.tensor2d(labels, [labels.length, 1], 'float32')
        : oneHotRows(labels, ctx.numClasses);
    return { xs, ys };
  });
}

/** Decodes sample `i` through the cache; a bad sample yields its failure reason instead of throwing. */
async function loadOne(ctx: BatchContext, i: number): Promise<{ pixels: RgbPixels } | { reason: string }> {
  const cached = ctx.cache?.get(i);
  if (cached) return { pixels: cached };
  try {
    const [height, width] = ctx.imageSize;
    const pixels = await ctx.store.load(i, { height, width, mode: ctx.resize });
    if (ctx.isAlive()) ctx.cache?.set(i, pixels);
    return { pixels };
  } catch (err) {
    if (err instanceof DecodeFailure) return { reason: err.message };
    throw err;
  }
}

/** Streams the batches of `order` (sample indices), prefetching up to `concurrency` decodes. */
export async function* streamBatches(ctx: BatchContext, order: readonly number[]): AsyncGenerator<Batch, void, undefined> {
  ctx.checkAlive();
  let pending: { pixels: RgbPixels; label: number }[] = [];
  let index = 0;
  for await (const result of prefetchMap(order, Math.max(1, ctx.concurrency), (i) => loadOne(ctx, i))) {
    const i = order[index++] as number;
    if ('reason' in result) {
      ctx.onFailure(i, result.reason);
      continue;
    }
    pending.push({ pixels: result.pixels, label: ctx.store.labels[i] as number });
    if (pending.length === ctx.batchSize) {
      ctx.checkAlive();
      yield makeBatch(ctx, pending);
      pending = [];
    }
  }
  if (pending.length > 0) {
    ctx.checkAlive();
    yield makeBatch(ctx, pending);
  }
}

/** A tf.data dataset whose every iteration asks `order()` for a fresh index order (per-epoch reshuffling). */
export function batchDataset(ctx: BatchContext, order: () => readonly number[]): tfd.Dataset<Batch> {
  return tfd.generator(() => streamBatches(ctx, order()) as AsyncIterator<Batch>);
}

/**
 * One-hot targets built in JS. tf.oneHot with a float32 dtype returns int32 bit patterns on the wasm backend in tfjs
 * 4.22 ([1.4e-45, 0, ...] instead of [1, 0, ...]), which silently trains a categorical head on all-zero targets.
 */
function oneHotRows(labels: readonly number[], numClasses: number): tf.Tensor2D {
  const values = new Float32Array(labels.length * numClasses);
  labels.forEach((label, row) => {
    values[row * numClasses + label] = 1;
  });
  return tf.tensor2d(values, [labels.length, numClasses], 'float32');
}
