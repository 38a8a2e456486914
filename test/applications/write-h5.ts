/**
 * Writes a tfjs model's weights as a Keras legacy-layout weights file (root `layer_names`, per-layer `weight_names`
 * and datasets), the layout of Keras's published ImageNet files, using h5wasm's writer. Test helper only.
 */
import type * as tfl from '@tensorflow/tfjs-layers';

export async function writeLegacyWeights(model: tfl.LayersModel): Promise<Uint8Array> {
  const h5 = await import('h5wasm');
  await h5.ready;
  const fs = h5.FS as NonNullable<typeof h5.FS>;
  const path = `/write-${Math.random().toString(36).slice(2)}.h5`;
  const file = new h5.File(path, 'w');
  try {
    const layers = model.layers.filter((l) => l.weights.length > 0);
    file.create_attribute('layer_names', layers.map((l) => l.name));
    file.create_attribute('keras_version', '2.15.0');
    for (const layer of layers) {
      const group = file.create_group(layer.name);
      const names = layer.weights.map((w) => `${layer.name}/${w.originalName.split('/').pop() as string}:0`);
      group.create_attribute('weight_names', names);
      const inner = group.create_group(layer.name);
      layer.getWeights().forEach((t, i) => {
        const short = (names[i] as string).split('/').pop() as string;
        inner.create_dataset({ name: short, data: t.dataSync() as Float32Array, shape: t.shape });
      });
    }
  } finally {
    file.close();
  }
  const bytes = fs.readFile(path) as Uint8Array;
  fs.unlink(path);
  return bytes;
}
