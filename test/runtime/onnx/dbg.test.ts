import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { it } from 'vitest';
import { functional } from '../helpers';
import { relativeDiff } from './helpers';
import { convertLayersModel } from '../../../src/runtime/onnx/convert';
const L = tfl.layers;
type S = tfl.SymbolicTensor;
const ap = (layer: tfl.layers.Layer, x: S | S[]): S => layer.apply(x) as S;
it('dbg', async () => {
  const m = functional([7, 9, 3], (x) => ap(L.maxPooling2d({ poolSize: 3, strides: 2 }), ap(L.zeroPadding2d({ padding: [[1, 0], [0, 2]] }), x)));
  const c = await convertLayersModel(m);
  const x = tf.randomUniform([2, 7, 9, 3], -1, 1, 'float32', 3);
  const e = (m.predict(x) as tf.Tensor).dataSync();
  for (const level of ['disabled', 'basic', 'extended', 'all'] as const) {
    const s = await ort.InferenceSession.create(c.bytes, { graphOptimizationLevel: level });
    const o = await s.run({ input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
    console.log(level, relativeDiff(o['features']!.data as Float32Array, e));
  }
});
