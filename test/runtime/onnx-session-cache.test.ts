/**
 * A Wrapper model's base is converted to ONNX once for all the pipeline's calls, converted again after a weight is
 * written (also while an earlier runtime is still open), and every session is released once the model is disposed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { openBaseRuntime } from '../../src/models/runtime-choice';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { evaluate, evaluateBaseline } from '../../src/pipeline/evaluate';
import { tinyDagBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';
import { randomImages, relativeError } from './helpers';

const counts = vi.hoisted(() => ({ converted: 0, opened: 0, released: 0 }));

vi.mock('../../src/runtime/onnx/convert', async (original) => {
  const actual = await original<typeof import('../../src/runtime/onnx/convert')>();
  return {
    ...actual,
    convertLayersModel: (...args: Parameters<typeof actual.convertLayersModel>) => {
      counts.converted++;
      return actual.convertLayersModel(...args);
    },
  };
});

vi.mock('../../src/runtime/onnx/session', async (original) => {
  const actual = await original<typeof import('../../src/runtime/onnx/session')>();
  return {
    ...actual,
    createOnnxSession: async (...args: Parameters<typeof actual.createOnnxSession>) => {
      const session = await actual.createOnnxSession(...args);
      counts.opened++;
      const release = session.release.bind(session);
      let done = false;
      return Object.assign(Object.create(Object.getPrototypeOf(session) as object) as object, session, {
        release: async () => {
          if (!done) counts.released++;
          done = true;
          await release();
        },
      }) as typeof session;
    },
  };
});

/** Lets the fire-and-forget releases run. */
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('the base session cache', () => {
  it('converts once for baseline and evaluation, and frees the session with the model', async () => {
    counts.converted = counts.opened = counts.released = 0;
    const data = makeTestSource({ numClasses: 3, imageSize: [8, 8], perSplit: { train: 6, validation: 6, test: 6 } });
    const model = Wrapper(tinyDagBase(), { numClasses: 3 });
    const before = tf.memory().numTensors;
    const baseline = await evaluateBaseline(model, data);
    const evaluation = await evaluate(model, data);
    const again = await evaluate(model, data);
    expect(baseline.runtime?.engine).toBe('onnxruntime');
    expect(evaluation.runtime?.engine).toBe('onnxruntime');
    expect(again.accuracy).toBe(evaluation.accuracy);
    expect(counts.converted).toBe(1);
    expect(counts.opened).toBe(1);
    expect(counts.released).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    await settle();
    expect(counts.released).toBe(1);
    data.dispose();
  });

  it('a runtime keeps its session while another asks for other threads, and both are released', async () => {
    counts.converted = counts.opened = counts.released = 0;
    const model = Wrapper(tinyDagBase(), { numClasses: 3 });
    const view = describeWrapper(model)!;
    const x = randomImages([2, 8, 8, 3], 8);
    const all = await openBaseRuntime(view, { call: 'test', images: 2 });
    const one = await openBaseRuntime(view, { call: 'test', images: 2, workers: 1 });
    expect(one.info.threads).toBe(1);
    // Alternating batches do not convert back and forth: each runtime's session is right for its weights.
    const outs = [await all.extract(x), await one.extract(x), await all.extract(x), await one.extract(x)];
    expect(counts.converted).toBe(2);
    expect(relativeError(outs[0]!, outs[1]!)).toBeLessThan(1e-5);
    tf.dispose([...outs, x]);
    await Promise.all([all.dispose(), one.dispose()]);
    model.dispose();
    await settle();
    expect(counts.released).toBe(2);
  });

  it('converts again after a weight write, and an open runtime moves to the new weights', async () => {
    counts.converted = counts.opened = counts.released = 0;
    const model = Wrapper(tinyDagBase(), { numClasses: 3 });
    const view = describeWrapper(model)!;
    const x = randomImages([2, 8, 8, 3], 7);
    const first = await openBaseRuntime(view, { call: 'test', images: 2 });
    const a = await first.extract(x);
    // A write gives the variable new storage, as training after unfreeze or setWeights does.
    if (view.base.kind !== 'layers') throw new Error('expected a layers base');
    const kernel = view.base.container.weights[0]!;
    const old = kernel.read();
    kernel.write(tf.tidy(() => tf.mul(old, 2)));
    const second = await openBaseRuntime(view, { call: 'test', images: 2 });
    expect(counts.converted).toBe(2);
    const tfjs = await openBaseRuntime(view, { call: 'test', images: 2, engine: 'tfjs' });
    const expected = await tfjs.extract(x);
    // The first runtime notices the write before its next batch and takes the session the second one made.
    const b = await first.extract(x);
    const c = await second.extract(x);
    expect(counts.converted).toBe(2);
    expect(relativeError(a, expected)).toBeGreaterThan(1e-2);
    expect(relativeError(b, expected)).toBeLessThan(1e-4);
    expect(relativeError(c, expected)).toBeLessThan(1e-4);
    await settle();
    // The session of the old weights was released as soon as no runtime held it.
    expect(counts.released).toBe(1);
    tf.dispose([a, b, c, expected, x]);
    await Promise.all([first.dispose(), second.dispose(), tfjs.dispose()]);
    model.dispose();
    await settle();
    expect(counts.released).toBe(counts.opened);
  });
});
