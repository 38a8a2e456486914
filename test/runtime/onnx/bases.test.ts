/**
 * The ONNX converter on whole bases: the test fixtures, every `applications` builder (random weights with non-trivial
 * BatchNorm statistics, small inputs, deep ones cut early), and the nsfwjs MobileNetV2 and InceptionV3 with their real
 * weights, rebuilt at small sizes and cut at several layers. ONNX Runtime's features are compared with tfjs
 * `model.predict` on the same batches: max |diff| / max |reference| <= 1e-4. Full-size parity runs in
 * full-size.slow.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applications } from '../../../src/applications/index';
import { cutBase, rebuildForInput } from '../../../src/models/base-core';
import { loadNsfwBase } from '../../../src/nsfwjs/index';
import { tinyConvBnBase, tinyDagBase, tinyDenseBase } from '../../fixtures/bases';
import { ortParity, randomizeBatchNorms } from './helpers';

const TOLERANCE = 1e-4;

/** The model from its input up to `layer` (the output of the layer's only call). */
function cut(model: tfl.LayersModel, layer: string): tfl.LayersModel {
  return tfl.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tfl.SymbolicTensor });
}

describe('convertLayersModel on the test fixtures', () => {
  it('matches predict on tinyConvBnBase, tinyDagBase and tinyDenseBase at several sizes and seeds', async () => {
    const before = tf.memory().numTensors;
    for (const seed of [1, 2, 3]) {
      for (const size of [[8, 8, 3], [13, 10, 3]] as const) {
        for (const make of [tinyConvBnBase, tinyDagBase]) {
          const model = make({ inputShape: [...size], seed });
          const { error, conversion } = await ortParity(model, 3, [seed, seed + 10]);
          expect(error, `${model.name} ${size.join('x')} seed ${seed}`).toBeLessThan(TOLERANCE);
          expect(conversion.stats.foldedBatchNorms).toBe(2);
          model.dispose();
        }
      }
      const dense = tinyDenseBase({ seed });
      const { error, shape } = await ortParity(dense, 3, [seed]);
      expect(error).toBeLessThan(TOLERANCE);
      expect(shape).toEqual([3, 5]);
      dense.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('convertLayersModel on the applications builders (random weights)', () => {
  async function build(name: keyof typeof applications, size: number, seed: number): Promise<tfl.LayersModel> {
    const model = await applications[name]({ includeTop: false, inputShape: [size, size, 3] });
    randomizeBatchNorms(model, seed);
    return model;
  }

  it('MobileNetV2 at 64 px, whole and pooled in the graph', async () => {
    const model = await build('MobileNetV2', 64, 1);
    const whole = await ortParity(model, 2, [1, 2]);
    expect(whole.error).toBeLessThan(TOLERANCE);
    expect(whole.shape).toEqual([2, 2, 2, 1280]);
    expect(whole.conversion.stats).toMatchObject({ foldedBatchNorms: 52, mergedPaddings: 4 });
    const pooled = await ortParity(model, 2, [3], { pooling: 'avg' });
    expect(pooled.error).toBeLessThan(TOLERANCE);
    expect(pooled.shape).toEqual([2, 1280]);
    model.dispose();
  });

  it('VGG16 at 32 px, pooled by max in the graph', async () => {
    // VGG16 has no BatchNorm; its cost is tfjs's own predict on the cpu backend, so one image at the smallest size.
    const model = await build('VGG16', 32, 2);
    const { error, shape } = await ortParity(model, 1, [1], { pooling: 'max' });
    expect(error).toBeLessThan(TOLERANCE);
    expect(shape).toEqual([1, 512]);
    model.dispose();
  });

  it('InceptionV3 at 75 px', async () => {
    const model = await build('InceptionV3', 75, 3);
    const { error, conversion } = await ortParity(model, 1, [1]);
    expect(error).toBeLessThan(TOLERANCE);
    expect(conversion.stats.foldedBatchNorms).toBe(94);
    model.dispose();
  });

  it('ResNet50V2 at 48 px: standalone preact/post BatchNorms and pool1_pad merged into the max pool', async () => {
    const model = await build('ResNet50V2', 48, 4);
    const { error, conversion } = await ortParity(model, 2, [1]);
    expect(error).toBeLessThan(TOLERANCE);
    // 1 + 3 + 4 + 6 + 3 blocks: each folds its two inner BNs; the 16 preact_bn and post_bn stay scale-and-shift.
    expect(conversion.stats).toMatchObject({ foldedBatchNorms: 32, mergedPaddings: 2 + 16 });
    model.dispose();
  });

  it('ResNet101V2 at 40 px, cut after conv3', async () => {
    const model = await build('ResNet101V2', 40, 5);
    const early = cut(model, 'conv3_block4_out');
    const { error } = await ortParity(early, 2, [1]);
    expect(error).toBeLessThan(TOLERANCE);
    model.dispose();
  });
});

describe('convertLayersModel on the nsfwjs bases (real weights)', () => {
  let mobilenet: tfl.LayersModel;
  let inception: tfl.LayersModel;
  beforeAll(async () => {
    mobilenet = (await loadNsfwBase('mobilenet_v2')).model as tfl.LayersModel;
    inception = (await loadNsfwBase('inception_v3')).model as tfl.LayersModel;
  });
  afterAll(() => {
    mobilenet.dispose();
    inception.dispose();
  });

  it('MobileNetV2 rebuilt at 96 px, cut at out_relu: every BN folded, features equal', async () => {
    const base = rebuildForInput('test', cutBase('test', mobilenet, 'out_relu'), [96, 96, 3]);
    const { error, conversion, shape } = await ortParity(base, 2, [1, 2]);
    expect(error).toBeLessThan(TOLERANCE);
    expect(shape).toEqual([2, 3, 3, 1280]);
    expect(conversion.stats).toMatchObject({ foldedBatchNorms: 52 });
    base.dispose();
  });

  it('MobileNetV2 at other cut points and input sizes (a cut at a ZeroPadding2D included)', async () => {
    for (const [layer, size] of [['block_3_expand_relu', 70], ['block_6_pad', 64], ['block_13_depthwise', 81]] as const) {
      const base = rebuildForInput('test', cutBase('test', mobilenet, layer), [size, size + 3, 3]);
      const { error } = await ortParity(base, 2, [3]);
      expect(error, layer).toBeLessThan(TOLERANCE);
      base.dispose();
    }
  });

  it('InceptionV3 rebuilt at 75 px, cut at mixed10: every BN folded, features equal', async () => {
    const base = rebuildForInput('test', cutBase('test', inception, 'mixed10'), [75, 75, 3]);
    const { error, conversion } = await ortParity(base, 1, [1]);
    expect(error).toBeLessThan(TOLERANCE);
    expect(conversion.stats).toMatchObject({ foldedBatchNorms: 94 });
    base.dispose();
  });
});
