/** Use after dispose is reported one way (code DISPOSED, before anything is allocated), and dispose is idempotent. */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { saveClassifier } from '../../src/classifier/save';
import { TlKitError } from '../../src/errors';
import { unfreeze } from '../../src/models/unfreeze';
import { Wrapper } from '../../src/models/wrapper';
import { evaluate, evaluateBaseline } from '../../src/pipeline/evaluate';
import { fineTune } from '../../src/pipeline/fine-tune';
import { fit } from '../../src/pipeline/fit';
import { compareBases } from '../../src/pipeline/compare';
import { loadKerasWeights } from '../../src/keras/load-weights';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';

describe('a disposed Wrapper model', () => {
  it('is refused by every call with code DISPOSED, without tensor growth; dispose() twice is harmless', async () => {
    const data = makeTestSource();
    const base = tinyConvBnBase();
    const model = Wrapper(base);
    model.dispose();
    expect(() => model.dispose()).not.toThrow();
    const before = tf.memory().numTensors;
    const calls: [string, () => Promise<unknown>][] = [
      ['fit', () => fit(model, data, { epochs: 1 })],
      ['evaluate', () => evaluate(model, data)],
      ['evaluateBaseline', () => evaluateBaseline(model, data)],
      ['fineTune', () => fineTune(model, data, { topLayers: 2 })],
      ['saveClassifier', () => saveClassifier(model, data, 'never-written')],
      ['unfreeze', async () => unfreeze(model, { topLayers: 1 })],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(err, name).toBeInstanceOf(TlKitError);
      expect((err as TlKitError).code, name).toBe('DISPOSED');
      expect((err as Error).message).toBe(`${name}: the model 'tlkit_wrapper' was disposed; it cannot be used any more (create or load it again)`);
    }
    expect(tf.memory().numTensors).toBe(before);
    // tfjs's own methods on the model report it the same way.
    const x = tf.zeros([1, 8, 8, 3]);
    expect(() => model.predict(x)).toThrow(/^model\.predict: the model 'tlkit_wrapper' was disposed/);
    await expect(model.save(tf.io.withSaveHandler(async () => ({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })))).rejects.toMatchObject({ code: 'DISPOSED' });
    x.dispose();
    base.dispose(); // the base passed in stays the caller's, and still works until then
    data.dispose();
  });
});

describe('a disposed base', () => {
  it('is refused by Wrapper, compareBases and loadKerasWeights with code DISPOSED, not a raw tfjs error', async () => {
    const data = makeTestSource();
    const base = tinyConvBnBase();
    base.dispose();
    const before = tf.memory().numTensors;
    const calls: [string, () => Promise<unknown>][] = [
      ['Wrapper', async () => Wrapper(base)],
      ['Wrapper', async () => Wrapper({ kind: 'tl-kit-base', name: 'tiny', model: base, inputShape: [8, 8, 3], preprocessing: 'unit' })],
      ['compareBases', () => compareBases([{ name: 'tiny', base }], data, { epochs: 1 })],
      ['loadKerasWeights', () => loadKerasWeights(base, new Uint8Array(8))],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect((err as TlKitError).code, name).toBe('DISPOSED');
      expect((err as Error).message).toBe(`${name}: the model 'tiny_conv_bn' was disposed; it cannot be used any more (create or load it again)`);
    }
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });
});
