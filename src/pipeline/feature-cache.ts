/**
 * Cached base features for training a head: every image goes through the frozen base once, and each epoch reads rows
 * of features instead. Rows live in memory up to a byte budget; beyond it (Node only) they spill to a temporary file.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfd from '@tensorflow/tfjs-data';
import type { Batch } from '../data/types';
import { TrainingError, UnsupportedError } from '../errors';
import type { FrozenRuntime } from '../runtime/types';
import { isNode } from '../internal/env';
import { forEachExtracted } from './extract-stream';
import { checkedBatches, type BatchShape } from './checks';

/** Rows of features plus their targets, readable by index. */
export interface FeatureStore {
  /** Number of rows. */
  readonly rows: number;
  /** Length of one feature row. */
  readonly featureSize: number;
  /** Length of one target row. */
  readonly targetSize: number;
  /** Features of the given rows as `[rows, featureSize]` and targets `[rows, targetSize]`; the caller disposes. */
  gather(indices: readonly number[]): Promise<{ xs: tf.Tensor2D; ys: tf.Tensor2D }>;
  /** Frees memory and deletes the temporary file, if any. */
  close(): Promise<void>;
  /** Where the rows live. */
  readonly location: 'memory' | 'file';
}


/** Growable Float32 buffer. */
class FloatBuffer {
  data = new Float32Array(1024);
  length = 0;
  push(values: Float32Array): void {
    if (this.length + values.length > this.data.length) {
      const next = new Float32Array(Math.max(this.data.length * 2, this.length + values.length));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(values, this.length);
    this.length += values.length;
  }
}

/** Sink for extracted rows: memory or a temporary file. */
interface RowSink {
  append(features: Float32Array): Promise<void>;
  finish(rows: number, featureSize: number, targets: Float32Array, targetSize: number): Promise<FeatureStore>;
  abort(): Promise<void>;
}

function memorySink(): RowSink {
  const buf = new FloatBuffer();
  return {
    append: async (features) => buf.push(features),
    abort: async () => {},
    finish: async (rows, featureSize, targets, targetSize) => {
      const features = buf.data.subarray(0, buf.length);
      return {
        rows,
        featureSize,
        targetSize,
        location: 'memory',
        gather: async (indices) => {
          const xs = new Float32Array(indices.length * featureSize);
          const ys = new Float32Array(indices.length * targetSize);
          indices.forEach((row, i) => {
            xs.set(features.subarray(row * featureSize, (row + 1) * featureSize), i * featureSize);
            ys.set(targets.subarray(row * targetSize, (row + 1) * targetSize), i * targetSize);
          });
          return {
            xs: tf.tensor2d(xs, [indices.length, featureSize]),
            ys: tf.tensor2d(ys, [indices.length, targetSize]),
          };
        },
        close: async () => {},
      };
    },
  };
}

/** A file-system failure of the spill file as a TrainingError that keeps the original as its cause. */
function spillError(split: string, where: string, err: unknown): TrainingError {
  const code = (err as { code?: unknown }).code;
  const reason = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
  return new TrainingError(
    `fit: cannot spill the cached ${split} features to a temporary file in ${where} (${reason}); ` +
      'free disk space, point TMPDIR at a writable folder, or raise cacheBudgetBytes',
    { cause: err },
  );
}

async function fileSink(split: string): Promise<RowSink> {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const tmp = os.tmpdir();
  let dir: string;
  try {
    dir = await fs.mkdtemp(path.join(tmp, 'tl-kit-features-'));
  } catch (err) {
    throw spillError(split, tmp, err);
  }
  const file = path.join(dir, 'features.f32');
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(file, 'w+');
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
    throw spillError(split, tmp, err);
  }
  let offset = 0;
  const remove = async (): Promise<void> => {
    await handle.close().catch(() => {});
    await fs.rm(dir, { recursive: true, force: true });
  };
  return {
    append: async (features) => {
      const bytes = new Uint8Array(features.buffer, features.byteOffset, features.byteLength);
      try {
        await handle.write(bytes, 0, bytes.length, offset);
      } catch (err) {
        throw spillError(split, tmp, err);
      }
      offset += bytes.length;
    },
    abort: remove,
    finish: async (rows, featureSize, targets, targetSize) => ({
      rows,
      featureSize,
      targetSize,
      location: 'file',
      gather: async (indices) => {
        const rowBytes = featureSize * 4;
        const xs = new Float32Array(indices.length * featureSize);
        const view = new Uint8Array(xs.buffer);
        try {
          await Promise.all(
            indices.map((row, i) => handle.read(view, i * rowBytes, rowBytes, row * rowBytes)),
          );
        } catch (err) {
          throw spillError(split, tmp, err);
        }
        const ys = new Float32Array(indices.length * targetSize);
        indices.forEach((row, i) => ys.set(targets.subarray(row * targetSize, (row + 1) * targetSize), i * targetSize));
        return {
          xs: tf.tensor2d(xs, [indices.length, featureSize]),
          ys: tf.tensor2d(ys, [indices.length, targetSize]),
        };
      },
      close: remove,
    }),
  };
}

/** Options of {@link extractFeatures}. */
export interface ExtractOptions {
  /** Largest number of bytes of features kept in memory; beyond it, spill to a file (Node) or throw. */
  readonly budgetBytes: number;
  /** Expected number of rows, used to decide memory vs file before extracting. */
  readonly expectedRows: number;
  /** Length of one feature row. */
  readonly featureSize: number;
  /** Stop after this many batches (all when undefined). */
  readonly maxBatches?: number;
  /** Name of the split, for messages. */
  readonly split: string;
  /** What each batch must be (checked before it is used). */
  readonly batches: BatchShape;
  /** Called after each extracted batch with the number of images so far. */
  readonly onBatch?: (images: number) => void;
}

/**
 * Runs every batch of `batches` through the frozen-base runtime once (overlapping batches when it runs several threads) and stores
 * the features and targets in batch order. Dataset elements are disposed as they are consumed.
 */
export async function extractFeatures(
  runtime: FrozenRuntime,
  batches: tfd.Dataset<Batch>,
  options: ExtractOptions,
): Promise<FeatureStore> {
  const bytes = options.expectedRows * options.featureSize * 4;
  let sink: RowSink;
  if (bytes <= options.budgetBytes) {
    sink = memorySink();
  } else if (isNode()) {
    sink = await fileSink(options.split);
  } else {
    throw new UnsupportedError(
      `fit: the cached ${options.split} features need ${(bytes / 2 ** 20).toFixed(1)} MiB, more than ` +
        `cacheBudgetBytes (${(options.budgetBytes / 2 ** 20).toFixed(1)} MiB), and a browser has no disk to spill to; ` +
        'pass cacheFeatures: false, raise cacheBudgetBytes, or use a smaller dataset',
    );
  }
  const targets = new FloatBuffer();
  let rows = 0;
  let targetSize = 0;
  try {
    const it = checkedBatches(await batches.iterator(), options.batches);
    await forEachExtracted(runtime, it, options.maxBatches, async ({ xs, ys }, feats) => {
      if (feats.shape[1] !== options.featureSize || feats.shape[0] !== xs.shape[0]) {
        throw new TrainingError(
          `fit: the frozen-base runtime returned [${feats.shape.join(', ')}] for ${xs.shape[0]} images; ` +
            `expected [${xs.shape[0]}, ${options.featureSize}]`,
        );
      }
      await sink.append((await feats.data()) as Float32Array);
      targets.push(Float32Array.from(await ys.data()));
      targetSize = ys.shape[1];
      rows += xs.shape[0];
      options.onBatch?.(rows);
    });
  } catch (err) {
    await sink.abort();
    throw err;
  }
  return sink.finish(rows, options.featureSize, targets.data.subarray(0, targets.length), targetSize);
}
