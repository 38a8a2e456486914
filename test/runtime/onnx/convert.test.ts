/**
 * Differential tests of the ONNX converter, layer kind by layer kind: ONNX Runtime's output against tfjs
 * `model.predict` on the same seeded batches, max |diff| / max |reference| <= 1e-4, over several weight and input
 * seeds. Small synthetic models keep each test well under a second.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { IncompatibleModelError } from '../../../src/errors';
import { convertLayersModel } from '../../../src/runtime/onnx/convert';
import { OnnxConversionError } from '../../../src/runtime/onnx/errors';
import { functional } from '../helpers';
import { ortParity } from './helpers';

const L = tfl.layers;
const TOLERANCE = 1e-4;
type S = tfl.SymbolicTensor;
const ap = (layer: tfl.layers.Layer, x: S | S[]): S => layer.apply(x) as S;

/** Checks parity for weight seeds 1..3 and input seeds 1..2; returns the last conversion's stats. */
async function expectParity(
  shape: number[],
  body: (x: S) => S,
  options: { batch?: number; pooling?: 'avg' | 'max' | 'none' } = {},
) {
  let stats;
  for (const weightSeed of [1, 2, 3]) {
    const model = functional(shape, body, weightSeed);
    const { error, conversion } = await ortParity(model, options.batch ?? 2, [1, 2], { pooling: options.pooling ?? 'none' });
    expect(error, `weight seed ${weightSeed}`).toBeLessThan(TOLERANCE);
    stats = conversion.stats;
  }
  return stats as unknown as Record<string, number>;
}

describe('convertLayersModel: convolutions and BatchNorm', () => {
  it('folds BatchNorm into Conv2D with TF "same" pads on odd sizes, strides and dilations', async () => {
    const stats = await expectParity([11, 9, 3], (x) => {
      let y = ap(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x);
      y = ap(L.batchNormalization(), y);
      y = ap(L.reLU(), y);
      y = ap(L.conv2d({ filters: 5, kernelSize: [2, 4], strides: [1, 2], padding: 'same' }), y);
      y = ap(L.batchNormalization({ epsilon: 1e-5 }), y);
      y = ap(L.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' }), y);
      y = ap(L.batchNormalization({ scale: false, center: false }), y);
      return ap(L.conv2d({ filters: 2, kernelSize: [1, 3], padding: 'valid' }), y);
    });
    expect(stats).toMatchObject({ foldedBatchNorms: 3, layers: 8 });
  });

  it('folds BatchNorm into DepthwiseConv2D (depth multiplier 2, strides) and SeparableConv2D', async () => {
    const stats = await expectParity([16, 15, 3], (x) => {
      let y = ap(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', useBias: false }), x);
      y = ap(L.batchNormalization(), y);
      y = ap(L.reLU({ maxValue: 6 }), y);
      y = ap(L.separableConv2d({ filters: 5, kernelSize: 3, depthMultiplier: 2, padding: 'same' }), y);
      y = ap(L.batchNormalization(), y);
      y = ap(L.separableConv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'valid', useBias: false, activation: 'relu6' }), y);
      return ap(L.depthwiseConv2d({ kernelSize: [3, 2], padding: 'valid', activation: 'relu' }), y);
    });
    expect(stats).toMatchObject({ foldedBatchNorms: 2 });
  });

  it('keeps a BatchNorm after Add (ResNetV2 preact_bn / post_bn) as a per-channel scale and shift', async () => {
    const stats = await expectParity([8, 8, 4], (x) => {
      const c = ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x);
      const sum = ap(L.add(), [c, x]);
      let y = ap(L.batchNormalization({ axis: 3, epsilon: 1.001e-5 }), sum);
      y = ap(L.activation({ activation: 'relu' }), y);
      const conv = ap(L.conv2d({ filters: 4, kernelSize: 1, activation: 'relu' }), y);
      // A non-linear conv and a BN whose input has two readers stay unfolded.
      return ap(L.add(), [ap(L.batchNormalization(), conv), ap(L.batchNormalization({ center: false }), y)]);
    });
    expect(stats).toMatchObject({ foldedBatchNorms: 0 });
  });

  it('folds BatchNorm into Dense after Flatten, which flattens in tfjs (NHWC) order', async () => {
    const stats = await expectParity([5, 4, 3], (x) => {
      let y = ap(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x);
      y = ap(L.flatten(), y);
      y = ap(L.dense({ units: 7 }), y);
      y = ap(L.batchNormalization({ scale: false }), y);
      return ap(L.dense({ units: 3, activation: 'softmax' }), y);
    }, { batch: 3 });
    expect(stats).toMatchObject({ foldedBatchNorms: 1 });
  });
});

describe('convertLayersModel: activations', () => {
  const names = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'softsign',
    'softmax', 'logSoftmax', 'swish', 'mish', 'gelu', 'gelu_new'] as const;

  it('translates every tfjs activation name, as a layer and as a Conv2D / Dense setting', async () => {
    for (const name of names) {
      await expectParity([5, 5, 3], (x) => {
        let y = ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: name as never }), x);
        y = ap(L.activation({ activation: name as never }), ap(L.conv2d({ filters: 3, kernelSize: 1 }), y));
        y = ap(L.globalAveragePooling2d({}), y);
        return ap(L.dense({ units: 4, activation: name as never }), y);
      });
    }
  });

  it('translates activation layers: ReLU (with and without maxValue), LeakyReLU, ELU, PReLU (shared axes or not), ThresholdedReLU, Softmax', async () => {
    await expectParity([6, 6, 3], (x) => {
      const c = (t: S) => ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), t);
      let y = ap(L.reLU({ maxValue: 0.3 }), c(x));
      y = ap(L.leakyReLU({ alpha: 0.2 }), c(y));
      y = ap(L.elu(), c(y));
      y = ap(L.prelu({ sharedAxes: [1, 2] }), c(y));
      y = ap(L.prelu({}), c(y));
      y = ap(L.thresholdedReLU({ theta: 0.1 }), c(y));
      y = ap(L.softmax({ axis: -1 }), c(y));
      // tfjs's Softmax layer defaults to axis 1, the last axis of a rank-2 tensor.
      return ap(L.softmax({}), ap(L.dense({ units: 5 }), ap(L.globalAveragePooling2d({}), y)));
    });
  });
});

describe('convertLayersModel: merges, pooling, padding and reshaping', () => {
  it('translates Add (three inputs), Multiply (squeeze-excite), Average, Maximum, Minimum and Concatenate on any axis', async () => {
    await expectParity([6, 8, 4], (x) => {
      const c = (t: S, f = 4) => ap(L.conv2d({ filters: f, kernelSize: 3, padding: 'same' }), t);
      const a = c(x);
      const b = c(a);
      const sum = ap(L.add(), [a, b, x]);
      // Squeeze-excite: [b, 1, 1, c] gates broadcast over [b, h, w, c].
      let se = ap(L.globalAveragePooling2d({}), sum);
      se = ap(L.dense({ units: 2, activation: 'relu' }), se);
      se = ap(L.dense({ units: 4, activation: 'sigmoid' }), se);
      se = ap(L.reshape({ targetShape: [1, 1, 4] }), se);
      const gated = ap(L.multiply(), [sum, se]);
      const avg = ap(L.average(), [gated, a, b]);
      const max = ap(L.maximum(), [avg, x]);
      const min = ap(L.minimum(), [max, b]);
      const channels = ap(L.concatenate(), [min, c(min, 2)]);
      const rows = ap(L.concatenate({ axis: 1 }), [channels, channels]);
      return ap(L.concatenate({ axis: 2 }), [rows, c(rows, 6)]);
    });
  });

  it('translates Max/AveragePooling2D (TF "same" leaves padding out of the average) and global pooling mid-graph', async () => {
    await expectParity([23, 21, 3], (x) => {
      let y = ap(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x);
      y = ap(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), ap(L.conv2d({ filters: 3, kernelSize: 1 }), y));
      const a = ap(L.averagePooling2d({ poolSize: [2, 3], strides: 1, padding: 'valid' }), y);
      const m = ap(L.maxPooling2d({ poolSize: 2, strides: [1, 2], padding: 'valid' }), a);
      return ap(L.concatenate(), [ap(L.globalMaxPooling2d({}), m), ap(L.globalAveragePooling2d({}), a)]);
    });
  });

  it('pools a feature map inside the graph with pooling "avg" and "max"', async () => {
    const body = (x: S) => ap(L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), x);
    for (const pooling of ['avg', 'max'] as const) {
      await expectParity([9, 7, 3], body, { pooling });
      const { shape } = await ortParity(functional([9, 7, 3], body), 3, [1], { pooling });
      expect(shape).toEqual([3, 6]);
    }
  });

  it('translates ZeroPadding2D (merged into a convolution or pool, or as a Pad), Cropping2D and UpSampling2D', async () => {
    const stats = await expectParity([7, 9, 3], (x) => {
      let y = ap(L.zeroPadding2d({ padding: [[0, 1], [2, 1]] }), x);
      y = ap(L.conv2d({ filters: 4, kernelSize: 3, strides: 2 }), y);
      y = ap(L.zeroPadding2d({ padding: 1 }), y);
      y = ap(L.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), y);
      y = ap(L.zeroPadding2d({ padding: [[1, 0], [0, 2]] }), y);
      y = ap(L.maxPooling2d({ poolSize: 3, strides: 2 }), y);
      y = ap(L.cropping2D({ cropping: [[1, 0], [0, 1]] }), ap(L.upSampling2d({ size: [2, 3] }), y));
      y = ap(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), y);
      // Read twice, this padding stays an ONNX Pad.
      const padded = ap(L.zeroPadding2d({ padding: [[1, 2], [0, 1]] }), y);
      return ap(L.add(), [padded, ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), padded)]);
    });
    expect(stats).toMatchObject({ mergedPaddings: 3 });
  });

  it('merges ZeroPadding2D into MaxPool / AveragePool exactly, also through a Dropout (ORT would fuse a Pad wrongly)', async () => {
    const stats = await expectParity([9, 8, 3], (x) => {
      // Negative activations make a zero pad visible in a max.
      const neg = ap(L.conv2d({ filters: 4, kernelSize: 1, activation: 'linear' }), x);
      const a = ap(L.maxPooling2d({ poolSize: 3, strides: 2 }), ap(L.zeroPadding2d({ padding: 1 }), neg));
      const b = ap(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), ap(L.dropout({ rate: 0.3 }), ap(L.zeroPadding2d({ padding: [[1, 0], [0, 1]] }), neg)));
      const c = ap(L.averagePooling2d({ poolSize: 3, strides: 2 }), ap(L.zeroPadding2d({ padding: [[1, 1], [2, 1]] }), neg));
      const d = ap(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), ap(L.zeroPadding2d({ padding: [[0, 1], [1, 0]] }), neg));
      const flat = (t: S) => ap(L.flatten(), t);
      return ap(L.concatenate(), [flat(a), flat(b), flat(c), flat(d)]);
    });
    expect(stats).toMatchObject({ mergedPaddings: 4, identities: 1 });
  });

  it('translates Reshape, Permute, Dense on a rank-3 tensor, Rescaling and inference identities', async () => {
    const stats = await expectParity([4, 6, 3], (x) => {
      let y = ap(L.rescaling({ scale: 1 / 127.5, offset: -1 }), x);
      y = ap(L.conv2d({ filters: 5, kernelSize: 3, padding: 'same' }), y);
      y = ap(L.dropout({ rate: 0.5 }), y);
      y = ap(L.gaussianNoise({ stddev: 1 }), y);
      const seq = ap(L.reshape({ targetShape: [-1, 5] }), y);
      const dense = ap(L.dense({ units: 3, activation: 'tanh' }), seq);
      const permuted = ap(L.permute({ dims: [2, 1] }), dense);
      const back = ap(L.reshape({ targetShape: [3, 4, 6] }), permuted);
      const image = ap(L.permute({ dims: [2, 3, 1] }), back);
      return ap(L.conv2d({ filters: 2, kernelSize: 3 }), ap(L.alphaDropout({ rate: 0.1 }), image));
    });
    expect(stats).toMatchObject({ identities: 3 });
  });

  it('expands nested models: a sequential block used twice and a functional block with two outputs', async () => {
    const block = tfl.sequential({
      layers: [
        L.conv2d({ inputShape: [6, 6, 3], filters: 3, kernelSize: 3, padding: 'same', useBias: false }),
        L.batchNormalization(),
        L.leakyReLU({ alpha: 0.2 }),
      ],
    });
    const innerInput = tfl.input({ shape: [6, 6, 3] });
    const innerA = ap(L.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), innerInput);
    const innerB = ap(L.elu(), ap(L.batchNormalization(), innerA));
    const twoOutputs = tfl.model({ inputs: innerInput, outputs: [innerA, innerB] });
    const stats = await expectParity([6, 6, 3], (x) => {
      const y = ap(block, ap(block, x));
      const [a, b] = twoOutputs.apply(y) as S[];
      return ap(L.concatenate(), [a as S, b as S]);
    });
    expect(stats).toMatchObject({ foldedBatchNorms: 2 });
  });
});

describe('convertLayersModel: what it refuses', () => {
  it('names the first layer without a translation, with its class, in a typed error', async () => {
    const model = functional([6, 6, 3], (x) => {
      const y = ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'stem' }), x);
      return ap(L.conv2dTranspose({ filters: 2, kernelSize: 3, name: 'upconv' }), y);
    });
    const err = await convertLayersModel(model).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnnxConversionError);
    expect(err).toBeInstanceOf(IncompatibleModelError);
    expect(err).toMatchObject({ code: 'INCOMPATIBLE_MODEL', layer: 'upconv', className: 'Conv2DTranspose' });
    expect((err as Error).message).toMatchInlineSnapshot(
      `"convertLayersModel: layer 'upconv' (Conv2DTranspose) cannot be converted to ONNX: there is no ONNX translation for this layer class (convertible: see CONVERTIBLE_LAYER_CLASSES)"`,
    );
    const norm = functional([4, 4, 3], (x) => ap(L.layerNormalization({ name: 'ln' }), x));
    await expect(convertLayersModel(norm)).rejects.toMatchObject({ layer: 'ln', className: 'LayerNormalization' });
  });

  it('refuses settings it does not translate, naming the layer', async () => {
    const firstChannels = functional([3, 6, 6], (x) => ap(L.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst', name: 'cf' }), x));
    await expect(convertLayersModel(firstChannels)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OnnxConversionError: convertLayersModel: layer 'cf' (MaxPooling2D) cannot be converted to ONNX: dataFormat 'channelsFirst' is not supported (only 'channelsLast')]`,
    );
  });

  it('refuses bad arguments and models it cannot take, before reading any weight', async () => {
    const model = functional([4, 4, 3], (x) => ap(L.conv2d({ filters: 2, kernelSize: 1 }), x));
    await expect(convertLayersModel({} as tfl.LayersModel)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: convertLayersModel: model must be a tfjs-layers LayersModel, got {}]`,
    );
    await expect(convertLayersModel(model, { pooling: 'mean' as 'avg' })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: convertLayersModel: pooling must be 'avg', 'max' or 'none', got "mean"]`,
    );
    await expect(convertLayersModel(model, { opset: 11 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: convertLayersModel: opset must be an integer from 13 to 17, got 11]`,
    );
    await expect(convertLayersModel(model, { poling: 'avg' } as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: convertLayersModel: options must be known option names (did you mean 'pooling'?), got "poling"]`,
    );
    const free = functional([null, null, 3] as unknown as number[], (x) => ap(L.conv2d({ filters: 2, kernelSize: 1 }), x));
    await expect(convertLayersModel(free)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[IncompatibleModelError: convertLayersModel: the model's input must be images [batch, height, width, channels] of a fixed size, got [null, null, null, 3] (rebuild the model for one input size first)]`,
    );
    const input = tfl.input({ shape: [4, 4, 3] });
    const two = tfl.model({ inputs: input, outputs: [ap(L.conv2d({ filters: 2, kernelSize: 1 }), input), ap(L.conv2d({ filters: 2, kernelSize: 1 }), input)] });
    await expect(convertLayersModel(two)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[IncompatibleModelError: convertLayersModel: the model must have one input and one output, it has 1 and 2]`,
    );
  });

  it('reads the weights without leaking tensors, and writes opset 13 as well as 17', async () => {
    const model = functional([6, 6, 3], (x) => ap(L.batchNormalization(), ap(L.conv2d({ filters: 3, kernelSize: 3 }), x)));
    const before = tf.memory().numTensors;
    for (const opset of [13, 17]) {
      const { error, conversion } = await ortParity(model, 2, [1], { opset });
      expect(error).toBeLessThan(TOLERANCE);
      expect(conversion.bytes.byteLength).toBeGreaterThan(3 * 3 * 3 * 3 * 4);
      // A plain Uint8Array that owns its memory (not a view of Node's shared Buffer pool).
      expect(conversion.bytes.buffer.byteLength).toBe(conversion.bytes.byteLength);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('CONVERTIBLE_LAYER_CLASSES', () => {
  it('lists what the converter takes, identities included, and not what it refuses', async () => {
    const { CONVERTIBLE_LAYER_CLASSES } = await import('../../../src/runtime/onnx/convert');
    expect(CONVERTIBLE_LAYER_CLASSES).toEqual(expect.arrayContaining(['Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'Dropout', 'ZeroPadding2D', 'Concatenate']));
    expect(CONVERTIBLE_LAYER_CLASSES).not.toContain('Conv2DTranspose');
    expect(CONVERTIBLE_LAYER_CLASSES).not.toContain('LayerNormalization');
  });
});
