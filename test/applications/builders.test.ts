import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { applications, IncompatibleModelError } from '../../src/index';
import { fixture } from '../keras/helpers';

/**
 * Layer names and every weight's layer, name and shape, in model order, as keras.applications 3.15.1 builds them with
 * includeTop false at small inputs (written by scripts/keras-parity/make_keras_files.py --out, then collected into
 * architectures.json; see test/fixtures/keras/README.md).
 */
type Arch = { inputShape: [number, number, number]; outputShape: number[]; layerNames: string[]; weights: Array<[string, string, number[]]> };
const ARCHS = JSON.parse(readFileSync(fixture('architectures.json'), 'utf8')) as Record<string, Arch>;

const BUILDERS: Record<string, (inputShape: [number, number, number]) => Promise<tfl.LayersModel>> = {
  vgg16: (inputShape) => applications.VGG16({ includeTop: false, inputShape }),
  inception_v3: (inputShape) => applications.InceptionV3({ includeTop: false, inputShape }),
  resnet50v2: (inputShape) => applications.ResNet50V2({ includeTop: false, inputShape }),
  resnet101v2: (inputShape) => applications.ResNet101V2({ includeTop: false, inputShape }),
  mobilenetv2: (inputShape) => applications.MobileNetV2({ includeTop: false, inputShape, alpha: 0.35 }),
};

/**
 * tfjs-layers names a DepthwiseConv2D kernel `depthwise_kernel` (as Keras 2 did); Keras 3 calls it `kernel`. Weights
 * are paired by position, so loading is unaffected; the comparison maps that one name.
 */
function kerasWeights(arch: Arch, model: tfl.LayersModel): Array<[string, string, number[]]> {
  const depthwise = new Set(model.layers.filter((l) => l.getClassName() === 'DepthwiseConv2D').map((l) => l.name));
  return arch.weights.map(([layer, path, shape]) => [
    layer,
    depthwise.has(layer) && path === `${layer}/kernel` ? `${layer}/depthwise_kernel` : path,
    shape,
  ]);
}

function weightList(model: tfl.LayersModel): Array<[string, string, number[]]> {
  return model.layers.flatMap((layer) => layer.weights.map((w) => [layer.name, w.originalName, [...w.shape]] as [string, string, number[]]));
}

describe('applications builders match keras.applications', () => {
  for (const [name, build] of Object.entries(BUILDERS)) {
    test(`${name}: layer names, weight names, shapes and order`, async () => {
      const keras = ARCHS[name] as Arch;
      const before = tf.memory().numTensors;
      const model = await build(keras.inputShape);
      try {
        expect(model.layers.map((l) => l.name)).toEqual(keras.layerNames);
        expect(weightList(model)).toEqual(kerasWeights(keras, model));
        expect(model.weights.length).toBe(keras.weights.length);
        expect(model.outputs[0]?.shape.slice(1)).toEqual(keras.outputShape);
      } finally {
        model.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
