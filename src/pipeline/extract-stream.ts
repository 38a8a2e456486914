/**
 * Ordered, overlapped feature extraction over a stream of batches. With worker threads the next batch goes to the
 * runtime while the previous one still runs, so no thread waits while this thread collects a result or reads the
 * next batch from the dataset. Results are handed over in batch order, as the one-at-a-time loop would.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/types';
import type { FrozenRuntime } from '../runtime/types';
import type { BatchIterator } from './checks';

export type { BatchIterator };

interface Pending {
  readonly batch: Batch;
  readonly features: Promise<tf.Tensor2D>;
}

/**
 * Runs every batch of `iterator` (at most `maxBatches`) through `runtime` and calls `handle` with each batch and
 * its features, in order. The stream disposes each batch's tensors and features after `handle` returns or throws; a
 * failure stops reading, and what was still in flight is freed before the error propagates.
 *
 * @returns the number of batches handled.
 */
export async function forEachExtracted(
  runtime: FrozenRuntime,
  iterator: BatchIterator,
  maxBatches: number | undefined,
  handle: (batch: Batch, features: tf.Tensor2D) => Promise<void>,
): Promise<number> {
  const depth = Math.max(1, runtime.concurrency);
  const inFlight: Pending[] = [];
  let read = 0;
  let handled = 0;
  let exhausted = false;
  const release = async (pending: Pending): Promise<void> => {
    tf.dispose([pending.batch.xs, pending.batch.ys]);
    const features = await pending.features.catch(() => undefined);
    features?.dispose();
  };
  try {
    for (;;) {
      while (!exhausted && inFlight.length < depth && (maxBatches === undefined || read < maxBatches)) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        read++;
        const features = runtime.extract(next.value.xs);
        // Awaited in order below; this keeps a failure of a later batch from surfacing as an unhandled rejection
        // while an earlier one is being handled.
        features.catch(() => undefined);
        inFlight.push({ batch: next.value, features });
      }
      const oldest = inFlight.shift();
      if (oldest === undefined) return handled;
      try {
        await handle(oldest.batch, await oldest.features);
      } finally {
        await release(oldest);
      }
      handled++;
    }
  } finally {
    await Promise.all(inFlight.splice(0).map(release));
  }
}
