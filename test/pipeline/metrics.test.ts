import { describe, expect, it } from 'vitest';
import {
  accuracyOf,
  argMax,
  confusionMatrixOf,
  f1Of,
  macroAverages,
  perClassMetrics,
  rocAucOf,
} from '../../src/pipeline/metrics';

describe('metrics (hand-computed values)', () => {
  it('accuracy counts exact matches', () => {
    expect(accuracyOf([0, 1, 1, 0], [0, 1, 0, 0])).toBe(0.75);
    expect(accuracyOf([], [])).toBeNaN();
  });

  it('confusion matrix is indexed [actual][predicted]', () => {
    // actual:    0 0 0 1 1 2 2 2 2
    // predicted: 0 1 0 1 2 2 2 0 2
    const m = confusionMatrixOf([0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 1, 0, 1, 2, 2, 2, 0, 2], 3);
    expect(m).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [1, 0, 3],
    ]);
  });

  it('per-class precision, recall, F1 and macro averages', () => {
    const m = [
      [2, 1, 0],
      [0, 1, 1],
      [1, 0, 3],
    ];
    const per = perClassMetrics(m, ['cat', 'dog', 'fox']);
    // cat: tp 2, predicted as cat 3 (col sum), support 3 -> p 2/3, r 2/3, f1 2/3
    // dog: tp 1, col sum 2, support 2 -> p 1/2, r 1/2, f1 1/2
    // fox: tp 3, col sum 4, support 4 -> p 3/4, r 3/4, f1 3/4
    expect(per.map((c) => c.label)).toEqual(['cat', 'dog', 'fox']);
    expect(per[0]!.precision).toBeCloseTo(2 / 3, 12);
    expect(per[1]!.recall).toBeCloseTo(1 / 2, 12);
    expect(per[2]!.f1).toBeCloseTo(3 / 4, 12);
    expect(per.map((c) => c.support)).toEqual([3, 2, 4]);
    const macro = macroAverages(per);
    expect(macro.precision).toBeCloseTo((2 / 3 + 1 / 2 + 3 / 4) / 3, 12);
    expect(macro.f1).toBeCloseTo((2 / 3 + 1 / 2 + 3 / 4) / 3, 12);
  });

  it('asymmetric precision/recall and a never-predicted class', () => {
    // actual 1 x4, predicted 1 only once (correctly); class 0 has 2 examples, both predicted 0.
    const m = confusionMatrixOf([1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0], 2);
    const [c0, c1] = perClassMetrics(m, ['neg', 'pos']);
    // pos: tp 1, predicted-as-pos 1, support 4 -> p 1, r 0.25, f1 = 2*0.25/(1.25) = 0.4
    expect(c1!.precision).toBe(1);
    expect(c1!.recall).toBe(0.25);
    expect(c1!.f1).toBeCloseTo(0.4, 12);
    // neg: tp 2, predicted-as-neg 5, support 2 -> p 0.4, r 1, f1 = 0.8/1.4
    expect(c0!.precision).toBeCloseTo(0.4, 12);
    expect(c0!.f1).toBeCloseTo(0.8 / 1.4, 12);
    const none = perClassMetrics(confusionMatrixOf([0, 0], [0, 0], 2), ['a', 'b'])[1]!;
    expect([none.precision, none.recall, none.f1]).toEqual([0, 0, 0]);
    expect(f1Of(0, 0)).toBe(0);
  });

  it('macro averages skip a class absent from the split and never predicted (a perfect result stays 1)', () => {
    // Three classes; the split has only classes 0 and 2, all classified correctly.
    const m = confusionMatrixOf([0, 0, 2], [0, 0, 2], 3);
    const per = perClassMetrics(m, ['a', 'b', 'c']);
    expect(per[1]).toEqual({ label: 'b', precision: 0, recall: 0, f1: 0, support: 0 });
    expect(macroAverages(per, m)).toEqual({ precision: 1, recall: 1, f1: 1 });
    // A class absent from the split but predicted still counts (its precision is 0), as in scikit-learn.
    const wrong = confusionMatrixOf([0, 0, 2], [0, 1, 2], 3);
    expect(macroAverages(perClassMetrics(wrong, ['a', 'b', 'c']), wrong).recall).toBeCloseTo((0.5 + 0 + 1) / 3, 12);
  });

  it('ROC AUC is NaN when a score is NaN (a diverged model), not a number from an unsorted order', () => {
    expect(rocAucOf([0, 1, 0, 1, 0, 1], [0.5, Number.NaN, 0.2, 0.9, Number.NaN, 0.1])).toBeNaN();
  });

  it('ROC AUC: perfect, inverted, ties and a hand-counted case', () => {
    expect(rocAucOf([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAucOf([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])).toBe(0);
    expect(rocAucOf([0, 1], [0.5, 0.5])).toBe(0.5);
    // positives scores {0.35, 0.8}, negatives {0.1, 0.4, 0.8}:
    // pairs (pos > neg): 0.35>0.1 yes, 0.35>0.4 no, 0.35 vs 0.8 no; 0.8>0.1 yes, 0.8>0.4 yes, 0.8=0.8 half
    // -> (1 + 0 + 0 + 1 + 1 + 0.5) / 6 = 3.5 / 6
    expect(rocAucOf([0, 1, 0, 1, 0], [0.1, 0.35, 0.4, 0.8, 0.8])).toBeCloseTo(3.5 / 6, 12);
    expect(rocAucOf([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it('argMax picks the first maximum', () => {
    expect(argMax([0.1, 0.7, 0.2])).toBe(1);
    expect(argMax([0.5, 0.5])).toBe(0);
  });
});
