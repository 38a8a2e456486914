/**
 * A tiny convolutional base that needs no download: its first layer holds fixed edge detectors (horizontal, vertical
 * and diagonal Sobel filters, the kind of filters the first layer of any trained CNN learns), its second layer random
 * (seeded) 3x3 filters. Small enough to extract features in a software-rendered WebGL (SwiftShader) within seconds,
 * and enough for the built-in stripes set; for real photos, load a pretrained base instead (see the README).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** 3x3 edge kernels: horizontal, vertical and the two diagonals, each with both signs (8 filters). */
function edgeKernels(): tf.Tensor4D {
  const sobel = [
    [-1, -2, -1, 0, 0, 0, 1, 2, 1], // horizontal edges
    [-1, 0, 1, -2, 0, 2, -1, 0, 1], // vertical edges
    [0, 1, 2, -1, 0, 1, -2, -1, 0], // diagonal
    [-2, -1, 0, -1, 0, 1, 0, 1, 2], // other diagonal
  ];
  const filters = [...sobel, ...sobel.map((k) => k.map((v) => -v))];
  const values = new Float32Array(3 * 3 * 3 * filters.length);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      for (let c = 0; c < 3; c++) {
        filters.forEach((k, f) => {
          // Each colour channel gets a third of the kernel: the filter sees brightness edges.
          values[((y * 3 + x) * 3 + c) * filters.length + f] = (k[y * 3 + x] ?? 0) / 3;
        });
      }
    }
  }
  return tf.tensor4d(values, [3, 3, 3, filters.length]);
}

/**
 * Builds the tiny base for `size` x `size` RGB inputs.
 *
 * @param size input side in pixels
 * @param seed initialisation seed of the random second layer
 */
export function tinyBase(size: number, seed = 1): tfl.LayersModel {
  const edges = tfl.layers.conv2d({ inputShape: [size, size, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'edges' });
  const model = tfl.sequential({ name: 'tiny_edge_base', layers: [edges] });
  model.add(
    tfl.layers.conv2d({
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      name: 'mix',
    }),
  );
  const kernel = edgeKernels();
  const bias = tf.zeros([8]);
  edges.setWeights([kernel, bias]);
  kernel.dispose();
  bias.dispose();
  return model;
}
