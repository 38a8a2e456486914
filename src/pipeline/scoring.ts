/**
 * Scoring a model over batches, written once: `evaluate`, `evaluateBaseline` and the validation after every epoch of
 * `fit` all add their batches' loss, labels and predictions here, with one download per batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argMax } from './metrics';

/** Labels, predictions and the loss sum over the batches scored so far. */
export interface Score {
  /** Sum of the per-example losses. */
  lossSum: number;
  /** True class per example. */
  readonly actual: number[];
  /** Predicted class per example (threshold 0.5 for one sigmoid unit, arg-max otherwise). */
  readonly predicted: number[];
  /** Positive-class probability per example (one sigmoid unit only). */
  readonly scores: number[];
}

/** A score with nothing in it. */
export function emptyScore(): Score {
  return { lossSum: 0, actual: [], predicted: [], scores: [] };
}

/**
 * Adds one batch to `score`: targets `ys` (`[b, 1]` binary or one-hot `[b, k]`) and predictions `pred` of the same
 * shape. Downloads once; disposes only what it creates.
 */
export async function addToScore(
  score: Score,
  ys: tf.Tensor2D,
  pred: tf.Tensor,
  lossFn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor,
): Promise<void> {
  // Predictions, targets and the loss sum in one tensor: one download (one GPU sync on webgl) per batch.
  const packed = tf.tidy(() =>
    tf.concat([tf.reshape(tf.cast(pred, 'float32'), [-1]), tf.reshape(tf.cast(ys, 'float32'), [-1]), tf.reshape(tf.sum(lossFn(ys, pred)), [1])]),
  );
  let all: Float32Array;
  try {
    all = (await packed.data()) as Float32Array;
  } finally {
    packed.dispose();
  }
  const [b, k] = ys.shape;
  const pk = pred.shape[pred.shape.length - 1] as number;
  const probs = all.subarray(0, pred.size);
  const targets = all.subarray(pred.size, pred.size + b * k);
  score.lossSum += all[pred.size + b * k] as number;
  for (let i = 0; i < b; i++) {
    if (k === 1) {
      const s = probs[i * pk] as number;
      score.actual.push((targets[i] as number) > 0.5 ? 1 : 0);
      score.predicted.push(s > 0.5 ? 1 : 0);
      score.scores.push(s);
    } else {
      score.actual.push(argMax(targets.subarray(i * k, (i + 1) * k)));
      score.predicted.push(argMax(probs.subarray(i * pk, (i + 1) * pk)));
    }
  }
}

/** Mean loss per example (NaN when empty). */
export function meanLoss(score: Score): number {
  return score.actual.length > 0 ? score.lossSum / score.actual.length : Number.NaN;
}
