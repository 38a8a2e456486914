import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { earlyStopping, nanGuard } from '../../src/pipeline/callbacks';
import { fit } from '../../src/pipeline/fit';
import { formatDuration, progressBar } from '../../src/pipeline/progress-bar';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from './helpers';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, columns: 200, write: (t: string) => chunks.push(t), chunks };
}

describe('progressBar', () => {
  it('draws epoch, batch, images/s, ETA and loss/accuracy on a TTY', async () => {
    let clock = 0;
    const stream = fakeStream(true);
    const bar = progressBar({ stream, now: () => clock, width: 10 });
    bar.setParams?.({ epochs: 2, steps: 4, batchSize: 8, samples: 32, verbose: 1, doValidation: true, metrics: [], path: 'cached' });
    await bar.onTrainBegin?.({});
    await bar.onEpochBegin?.(0, {});
    clock = 1000;
    await bar.onBatchEnd?.(0, { size: 8, loss: 0.5, acc: 0.75 });
    expect(stream.chunks[0]).toBe('\repoch 1/2 [==>       ] 1/4  8 img/s  ETA 3s  loss 0.5000  acc 0.7500\x1b[K');
    clock = 1010; // redraws are throttled to one per 50 ms
    await bar.onBatchEnd?.(1, { size: 8, loss: 0.3, acc: 1 });
    expect(stream.chunks).toHaveLength(1);
    clock = 4000;
    await bar.onEpochEnd?.(0, { loss: 0.4, acc: 0.8, val_loss: 0.45, val_acc: 0.7 });
    expect(stream.chunks[1]).toBe(
      '\repoch 1/2 4/4  4s  4 img/s  loss 0.4000  acc 0.8000  val_loss 0.4500  val_acc 0.7000\x1b[K\n',
    );
  });

  it('measures extraction speed from its first report, not from zero elapsed time', () => {
    let clock = 0;
    const stream = fakeStream(true);
    const bar = progressBar({ stream, now: () => clock });
    const runtime = { engine: 'tfjs', implementation: 'tfjs-fused', backend: 'cpu', threads: 0, summary: 'tfjs-fused on cpu' } as const;
    bar.onExtractionProgress?.({ split: 'train', done: 32, total: 96, runtime });
    expect(stream.chunks[0]).toBe('\r\x1b[Kfrozen base: tfjs-fused on cpu\n');
    expect(stream.chunks[1]).toBe('\rextracting train features 32/96  -- img/s  ETA ?\x1b[K');
    clock = 1000;
    bar.onExtractionProgress?.({ split: 'train', done: 64, total: 96, runtime });
    expect(stream.chunks[2]).toBe('\rextracting train features 64/96  32 img/s  ETA 1s\x1b[K');
  });

  it('verbose 1 redraws a bar on a TTY and writes one line per epoch, plus extraction start and end, elsewhere', async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 } });
    const model = Wrapper(tinyConvBnBase());
    const tty = fakeStream(true);
    await fit(model, data, { epochs: 2, verbose: 1, progressStream: tty });
    expect(tty.chunks.filter((c) => c.startsWith('\repoch') && c.endsWith('\n'))).toHaveLength(2);
    expect(tty.chunks.join('')).toContain('epoch 2/2');
    // what runs the base, then the one-time feature extraction of the cached path, before the epochs
    expect(tty.chunks[0]).toMatch(/^\r\x1b\[Kfrozen base: onnxruntime on cpu \(\d+ threads?, 2 BatchNorms folded\)\n$/);
    expect(tty.chunks[1]).toMatch(/^\rextracting train features 8\/8 .*\x1b\[K\n$/);
    expect(tty.chunks[2]).toMatch(/^\rextracting validation features 4\/4 /);
    const log = fakeStream(false);
    await fit(model, data, { epochs: 2, verbose: 1, progressStream: log });
    expect(log.chunks.every((c) => c.endsWith('\n') && !c.includes('\r') && !c.includes('\x1b'))).toBe(true);
    expect(log.chunks.join('').split('\n').map((l) => l.replace(/\d+ img\/s|\d+s |\d\.\d{4}|\d+ threads?/g, '#'))).toEqual([
      'frozen base: onnxruntime on cpu (#, 2 BatchNorms folded)',
      'extracting train features of 8 images',
      'extracted train features 8/8',
      'extracting validation features of 4 images',
      'extracted validation features 4/4',
      'epoch 1/2 1/1  # #  loss #  acc #  val_loss #  val_acc #',
      'epoch 2/2 1/1  # #  loss #  acc #  val_loss #  val_acc #',
      '',
    ]);
    model.dispose();
    data.dispose();
  });

  it('verbose 2 writes the same plain lines on a TTY and on any other stream, through fit and progressBar', async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 }, batchSize: 4 });
    const model = Wrapper(tinyConvBnBase());
    const tty = fakeStream(true);
    await fit(model, data, { epochs: 1, verbose: 2, progressStream: tty });
    const log = fakeStream(false);
    await fit(model, data, { epochs: 1, callbacks: [progressBar({ stream: log, verbose: 2 })] });
    const shape = (chunks: string[]): string[] => chunks.map((c) => c.replace(/\d+ img\/s|\d+s |\d\.\d{4}|\d+ threads?/g, '#'));
    for (const stream of [tty, log]) {
      expect(stream.chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
      expect(shape(stream.chunks)).toEqual([
        'frozen base: onnxruntime on cpu (#, 2 BatchNorms folded)\n',
        'extracting train features of 8 images\n',
        'extracted train features 8/8  #\n',
        'extracting validation features of 4 images\n',
        'extracted validation features 4/4\n',
        'epoch 1/1 2/2  # #  loss #  acc #  val_loss #  val_acc #\n',
      ]);
    }
    model.dispose();
    data.dispose();
  });

  it('verbose 0 is silent, and fit refuses other verbosity levels naming the accepted ones', async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 } });
    const model = Wrapper(tinyConvBnBase());
    const quiet = fakeStream(false);
    await fit(model, data, { epochs: 1, verbose: 0, progressStream: quiet });
    expect(quiet.chunks).toEqual([]);
    await expect(fit(model, data, { verbose: 3 as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: verbose must be 0, 1 or 2, got 3]`);
    model.dispose();
    data.dispose();
  });

  it('progressBar refuses a bad verbosity, a non-function clock and an unknown option', () => {
    expect(() => progressBar({ verbose: 0 as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: progressBar: verbose must be 1 or 2, got 0]`);
    expect(() => progressBar({ now: 5 as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: progressBar: now must be a function returning milliseconds, got 5]`);
    expect(() => progressBar({ force: true } as never)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: progressBar: options must be known option names (did you mean 'now'?), got "force"]`);
  });

  it('formats durations', () => {
    expect([formatDuration(5.4), formatDuration(65), formatDuration(3725), formatDuration(Number.NaN)]).toEqual([
      '5s',
      '1m05s',
      '1h02m',
      '?',
    ]);
  });
});

describe('the NaN guard and earlyStopping', () => {
  it('the NaN guard names the call, epoch and batch', async () => {
    const cb = nanGuard('fit');
    await cb.onEpochBegin?.(2, {});
    expect(() => cb.onBatchEnd?.(4, { loss: Number.POSITIVE_INFINITY })).toThrowErrorMatchingInlineSnapshot(`[TrainingError: fit: the loss became Infinity at epoch 3, batch 5; lower the learning rate or check the data for invalid values]`);
  });

  it('earlyStopping stops after `patience` epochs without improvement and frees its copy of the weights', async () => {
    const model = Wrapper(tinyConvBnBase());
    const cb = earlyStopping({ monitor: 'val_acc', patience: 2 });
    cb.setModel?.(model);
    const before = tf.memory().numTensors;
    await cb.onTrainBegin?.({});
    for (const [epoch, acc] of [0.5, 0.7, 0.6, 0.7].entries()) await cb.onEpochEnd?.(epoch, { val_acc: acc });
    expect(model.stopTraining).toBe(true); // 0.6 and 0.7 do not beat 0.7
    await cb.onTrainEnd?.({});
    expect(tf.memory().numTensors).toBe(before);
    expect(() => earlyStopping({ patience: -1 })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: earlyStopping: patience must be a non-negative integer, got -1]`);
    expect(() => earlyStopping({ mode: 'up' as 'max' })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: earlyStopping: mode must be one of 'auto', 'min', 'max', got "up"]`);
    // 'no' is truthy: it must not silently restore the best weights.
    expect(() => earlyStopping({ restoreBestWeights: 'no' as never })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: earlyStopping: restoreBestWeights must be a boolean, got "no"]`);
    model.dispose();
  });
});
