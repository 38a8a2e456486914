import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { applications, IncompatibleModelError } from '../../src/index';
import { fixture } from '../keras/helpers';

describe('applications options', () => {
  test('each builder carries the Keras preprocessing of its ImageNet weights', () => {
    expect(applications.VGG16.preprocessing).toBe('caffe');
    expect(applications.InceptionV3.preprocessing).toBe('tf');
    expect(applications.ResNet50V2.preprocessing).toBe('tf');
    expect(applications.ResNet101V2.preprocessing).toBe('tf');
    expect(applications.MobileNetV2.preprocessing).toBe('tf');
    expect(applications.VGG16.preprocessing).toBe('caffe');
    expect(applications.InceptionV3.defaultInputShape).toEqual([299, 299, 3]);
  });

  test('a misspelt weights value says what weights accepts', async () => {
    await expect(applications.MobileNetV2({ inputShape: [32, 32, 3], includeTop: false, weights: 'imagenett' })).rejects.toThrow(
      /could not read "imagenett" \(ENOENT.*\) \(weights must be null, 'imagenet', or a path, URL or bytes of a weights file\)/,
    );
  });

  test('includeTop adds Keras-named pooling and a classifier with `classes` outputs', async () => {
    const mobile = await applications.MobileNetV2({ inputShape: [32, 32, 3], alpha: 0.35, classes: 7 });
    const resnet = await applications.ResNet50V2({ inputShape: [32, 32, 3], classes: 5, classifierActivation: 'linear' });
    try {
      expect(mobile.layers.slice(-2).map((l) => l.name)).toEqual(['global_average_pooling2d', 'predictions']);
      expect(mobile.outputs[0]?.shape).toEqual([null, 7]);
      expect(resnet.layers.slice(-2).map((l) => l.name)).toEqual(['avg_pool', 'predictions']);
      expect(resnet.outputs[0]?.shape).toEqual([null, 5]);
      expect(mobile.name).toBe('mobilenetv2_0.35_32');
    } finally {
      mobile.dispose();
      resnet.dispose();
    }
  });

  test("pooling 'avg' / 'max' without the top returns feature vectors", async () => {
    const avg = await applications.VGG16({ includeTop: false, inputShape: [32, 32, 3], pooling: 'avg' });
    const max = await applications.ResNet50V2({ includeTop: false, inputShape: [32, 32, 3], pooling: 'max' });
    try {
      expect(avg.outputs[0]?.shape).toEqual([null, 512]);
      expect(avg.layers.at(-1)?.name).toBe('global_average_pooling2d');
      expect(max.outputs[0]?.shape).toEqual([null, 2048]);
      expect(max.layers.at(-1)?.name).toBe('max_pool');
    } finally {
      avg.dispose();
      max.dispose();
    }
  });

  test('refuses bad options before building', async () => {
    await expect(applications.VGG16({ inputShape: [16, 16, 3] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.VGG16: inputShape must be [height, width, 3] with height and width integers >= 32, got [16, 16, 3]]`);
    await expect(applications.InceptionV3({ inputShape: [64, 64, 3] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.InceptionV3: inputShape must be [height, width, 3] with height and width integers >= 75, got [64, 64, 3]]`);
    await expect(applications.VGG16({ weights: 'imagenet', inputShape: [160, 160, 3] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.VGG16: inputShape must be [224, 224, 3] with weights 'imagenet' and includeTop, got [160, 160, 3]]`);
    await expect(applications.VGG16({ weights: 'imagenet', classes: 10 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.VGG16: classes must be 1000 with weights 'imagenet' and includeTop, got 10]`);
    await expect(applications.MobileNetV2({ weights: 'imagenet', includeTop: false, alpha: 0.6 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.MobileNetV2: alpha must be one of 0.35, 0.5, 0.75, 1, 1.3, 1.4 with weights 'imagenet', got 0.6]`);
    await expect(applications.MobileNetV2({ weights: 'imagenet', inputShape: [150, 150, 3] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.MobileNetV2: inputShape must be [96, 96, 3] or [128, 128, 3] or [160, 160, 3] or [192, 192, 3] or [224, 224, 3] with weights 'imagenet' and includeTop, got [150, 150, 3]]`);
    await expect(applications.ResNet50V2({ pooling: 'sum' as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.ResNet50V2: pooling must be one of 'avg', 'max', got "sum"]`);
    await expect(applications.ResNet101V2({ weights: 42 as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.ResNet101V2: weights must be null, 'imagenet', a path, a URL or bytes, got 42]`);
    await expect(applications.VGG16('big' as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: applications.VGG16: options must be an object or undefined, got "big"]`);
  });

  test('a weights file that does not fit is refused and the model is disposed', async () => {
    const before = tf.memory().numTensors;
    const build = applications.MobileNetV2({ includeTop: false, inputShape: [32, 32, 3], alpha: 0.35, weights: fixture('tiny.h5') });
    await expect(build).rejects.toThrowError(IncompatibleModelError);
    await expect(
      applications.MobileNetV2({ includeTop: false, inputShape: [32, 32, 3], alpha: 0.35, weights: fixture('tiny.h5') }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: applications.MobileNetV2: the model has 104 layers with weights, the file 4 (matching by order)]`);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('applications option bounds', () => {
  test('absurd sizes are refused before anything is built, and nothing is left allocated', async () => {
    const before = tf.memory().numTensors;
    await expect(applications.MobileNetV2({ includeTop: false, inputShape: [32, 32, 3], alpha: 1e6 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: applications.MobileNetV2: alpha must be at most 4, got 1000000]`,
    );
    await expect(applications.MobileNetV2({ inputShape: [32, 32, 3], alpha: 0.35, classes: 1e9 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: applications.MobileNetV2: classes must be an integer in [1, 100000], got 1000000000]`,
    );
    await expect(applications.ResNet50V2({ includeTop: false, inputShape: [100000, 100000, 3] })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: applications.ResNet50V2: inputShape must be [height, width, 3] with height and width at most 8192, got [100000, 100000, 3]]`,
    );
    // VGG16's fc1 grows with the input area: [4096, 4096, 3] would need a (128*128*512) x 4096 weight.
    await expect(applications.VGG16({ inputShape: [4096, 4096, 3] })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: applications.VGG16: inputShape must be small enough that one weight has at most 536870912 values (it would be [8388608, 4096]), got [4096, 4096, 3]]`,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  test('unknown option names and null are refused, except for the options documented as nullable', async () => {
    await expect(applications.MobileNetV2({ inputShape: [32, 32, 3], alpa: 0.5 } as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: applications.MobileNetV2: options must be known option names (did you mean 'alpha'?), got "alpa"]`,
    );
    // alpha belongs to MobileNetV2 only.
    await expect(applications.VGG16({ includeTop: false, inputShape: [32, 32, 3], alpha: 0.5 } as never)).rejects.toThrow(/options must be known option names/);
    await expect(applications.ResNet50V2({ includeTop: null } as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: applications.ResNet50V2: includeTop must be left out (or undefined) for its default, or a value; null is not an option value here, got null]`,
    );
    await expect(applications.MobileNetV2({ inputShape: [32, 32, 3], alpha: null } as never)).rejects.toThrow(/alpha must be left out/);
    const model = await applications.MobileNetV2({ includeTop: false, inputShape: [32, 32, 3], alpha: 0.35, weights: null, pooling: null });
    try {
      expect(model.outputs[0]?.shape).toEqual([null, 1, 1, 1280]);
    } finally {
      model.dispose();
    }
  });

  test('a build that throws half way disposes the weights it had created', async () => {
    const { buildDisposingOnFailure } = await import('../../src/applications/common');
    const tfl = await import('@tensorflow/tfjs-layers');
    const before = tf.memory().numTensors;
    expect(() =>
      buildDisposingOnFailure(() => {
        const input = tfl.input({ shape: [8, 8, 3] });
        tfl.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(input);
        tfl.layers.dense({ units: 5 }).apply(tfl.layers.flatten().apply(input));
        throw new RangeError('allocation refused');
      }),
    ).toThrow('allocation refused');
    expect(tf.memory().numTensors).toBe(before);
  });
});
