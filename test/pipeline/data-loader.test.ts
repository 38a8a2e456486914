/** The whole flow on a real DataLoader: fit, evaluate, report, save, load, predict. */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/data/data-loader';
import { Wrapper } from '../../src/models/wrapper';
import { evaluate, evaluateBaseline } from '../../src/pipeline/evaluate';
import { fit } from '../../src/pipeline/fit';
import { saveClassifier } from '../../src/classifier/save';
import { loadClassifier } from '../../src/classifier/load';
import { writeReport } from '../../src/report/write-report';
import { createRng } from '../../src/internal/rng';
import { tinyConvBnBase } from '../fixtures/bases';

/** n images 12x12, 0..255: class 1 bright, class 0 dark, with noise. */
function brightDark(n: number): { xs: tf.Tensor4D; labels: number[] } {
  const rng = createRng(11);
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const px = new Float32Array(n * 12 * 12 * 3);
  for (let i = 0; i < px.length; i++) {
    const label = labels[Math.floor(i / (12 * 12 * 3))]!;
    px[i] = Math.round((label ? 200 : 50) + (rng.next() - 0.5) * 60);
  }
  return { xs: tf.tensor4d(px, [n, 12, 12, 3], 'int32') as tf.Tensor4D, labels };
}

describe('pipeline on a DataLoader', () => {
  it('trains, evaluates, reports, saves and loads a classifier that predicts new images', async () => {
    const { xs, labels } = brightDark(60);
    const data = await DataLoader.fromTensors(xs, labels, {
      imageSize: 8,
      preprocessing: 'unit',
      labelNames: ['dark', 'bright'],
      batchSize: 8,
      seed: 1,
    });
    xs.dispose();
    const base = tinyConvBnBase();
    const model = Wrapper(base, { seed: 2 });
    const before = tf.memory().numTensors;
    const baseline = await evaluateBaseline(model, data);
    expect(tf.memory().numTensors).toBe(before);
    const history = await fit(model, data, { epochs: 20, learningRate: 0.05 });
    const result = await evaluate(model, data);
    expect(result.accuracy).toBeGreaterThan(baseline.accuracy);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(history.history.val_acc).toHaveLength(20);

    const dir = await mkdtemp(join(tmpdir(), 'tlkit-flow-'));
    try {
      const samples = await data.getRandomRawImages(20);
      const files = await writeReport(join(dir, 'report'), { histories: { tiny: history }, evaluation: result, samples });
      tf.dispose(samples.map((s) => s.image));
      expect(files.svg).toHaveLength(3);

      await saveClassifier(model, data, join(dir, 'model'), { metrics: result });
      const classifier = await loadClassifier(join(dir, 'model'));
      expect(classifier.metadata.metrics?.accuracy).toBe(result.accuracy);
      const bright = tf.fill([20, 30, 3], 210, 'int32') as tf.Tensor3D;
      const dark = tf.fill([20, 30, 3], 40, 'int32') as tf.Tensor3D;
      const n = tf.memory().numTensors;
      expect((await classifier.predict(bright))[0]!.label).toBe('bright');
      expect((await classifier.predict(dark))[0]!.label).toBe('dark');
      expect(tf.memory().numTensors).toBe(n);
      tf.dispose([bright, dark]);
      classifier.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    model.dispose();
    base.dispose();
    data.dispose();
  });
});
