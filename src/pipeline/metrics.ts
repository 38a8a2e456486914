/**
 * Classification metrics in plain TypeScript over label and probability arrays: no tensors, so every number can be
 * checked by hand. `evaluate` downloads predictions once and computes everything here.
 */

/**
 * Precision, recall and F1 of one class.
 *
 * @category evaluation
 */
export interface ClassMetrics {
  /** The class name. */
  readonly label: string;
  /** Of the examples predicted as this class, the fraction that are; 0 when none was predicted. */
  readonly precision: number;
  /** Of the examples of this class, the fraction predicted as it; 0 when the class has no example. */
  readonly recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  readonly f1: number;
  /** Number of examples of this class (the confusion matrix row sum). */
  readonly support: number;
}

/** Fraction of `predicted[i] === actual[i]`; NaN for empty input. */
export function accuracyOf(actual: readonly number[], predicted: readonly number[]): number {
  if (actual.length === 0) return Number.NaN;
  let hits = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] === predicted[i]) hits++;
  return hits / actual.length;
}

/**
 * Confusion matrix: `matrix[actual][predicted]` counts examples of class `actual` predicted as `predicted`.
 */
export function confusionMatrixOf(
  actual: readonly number[],
  predicted: readonly number[],
  numClasses: number,
): number[][] {
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const row = matrix[actual[i] as number];
    if (row) row[predicted[i] as number] = (row[predicted[i] as number] ?? 0) + 1;
  }
  return matrix;
}

/** Safe ratio: 0 when the denominator is 0. */
function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

/** F1 from precision and recall (0 when both are 0). */
export function f1Of(precision: number, recall: number): number {
  return ratio(2 * precision * recall, precision + recall);
}

/** Per-class precision, recall and F1 from a confusion matrix (`matrix[actual][predicted]`). */
export function perClassMetrics(matrix: readonly (readonly number[])[], labelNames: readonly string[]): ClassMetrics[] {
  const k = matrix.length;
  const out: ClassMetrics[] = [];
  for (let c = 0; c < k; c++) {
    const row = matrix[c] ?? [];
    const tp = row[c] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    let predictedAsC = 0;
    for (let r = 0; r < k; r++) predictedAsC += matrix[r]?.[c] ?? 0;
    const precision = ratio(tp, predictedAsC);
    const recall = ratio(tp, support);
    out.push({ label: labelNames[c] ?? String(c), precision, recall, f1: f1Of(precision, recall), support });
  }
  return out;
}

/**
 * Unweighted means of per-class precision, recall and F1. With the confusion matrix, a class that has no example in
 * the split and was never predicted is left out (as scikit-learn's macro average does): it says nothing about the
 * classifier, and counting its zeros would pull a perfect result on the classes present below 1.
 */
export function macroAverages(
  perClass: readonly ClassMetrics[],
  matrix?: readonly (readonly number[])[],
): { precision: number; recall: number; f1: number } {
  const predicted = (c: number): number => (matrix ?? []).reduce((a, row) => a + (row[c] ?? 0), 0);
  const used = matrix ? perClass.filter((m, c) => m.support > 0 || predicted(c) > 0) : perClass;
  const n = used.length;
  if (n === 0) return { precision: Number.NaN, recall: Number.NaN, f1: Number.NaN };
  const sum = (f: (m: ClassMetrics) => number): number => used.reduce((a, m) => a + f(m), 0) / n;
  return { precision: sum((m) => m.precision), recall: sum((m) => m.recall), f1: sum((m) => m.f1) };
}

/**
 * Area under the ROC curve for binary labels (1 = positive) and scores: the probability that a random positive scores
 * higher than a random negative, ties counting one half (the Mann-Whitney statistic with mid-ranks).
 * NaN when either class is absent (the curve is undefined) or a score is NaN.
 */
export function rocAucOf(actual: readonly number[], scores: readonly number[]): number {
  const n = actual.length;
  let positives = 0;
  for (const a of actual) if (a === 1) positives++;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  // A NaN score (a diverged model) has no rank; sorting would leave an arbitrary order and a meaningless area.
  if (scores.some((s) => Number.isNaN(s))) return Number.NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  // Mid-ranks (1-based) over groups of tied scores.
  let rankSumPositives = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const midRank = (i + j + 2) / 2;
    for (let t = i; t <= j; t++) if (actual[order[t] as number] === 1) rankSumPositives += midRank;
    i = j + 1;
  }
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Index of the largest value in `row` (the first on ties). */
export function argMax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}
