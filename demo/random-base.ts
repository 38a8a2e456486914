/**
 * The demo's control: a pretrained base's architecture with random weights, initialised the way a fresh network is
 * (He normal kernels, BatchNorm scale 1 and offset 0) and with BatchNorm moving statistics re-estimated on a few
 * training images, so that activations keep their scale through the depth and the frozen features carry what random
 * convolutions can see. Without the re-estimation, BatchNormalization's initial statistics (mean 0, variance 1) do not
 * match the activations, the scale decays from block to block, and a 17-block MobileNetV2 ends near 1e-11: a head on
 * such features can only score chance, which overstates what pretraining is worth.
 *
 * Practice followed: He et al. 2015 ("Delving Deep into Rectifiers", the He normal initialiser Keras offers as
 * `HeNormal`), and the re-estimation of BatchNorm's population statistics with the weights fixed, as in Ioffe and
 * Szegedy 2015 (section 3.1: inference uses population statistics) and Wu and Johnson 2021 ("Rethinking 'Batch' in
 * BatchNorm", PreciseBN).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Mean and standard deviation of every value of a feature batch. */
export interface FeatureScale {
  readonly mean: number;
  readonly std: number;
}

interface LayerJson {
  readonly name: string;
  readonly class_name: string;
  readonly config: Record<string, unknown>;
  readonly inbound_nodes: readonly (readonly (readonly [string, number, number, unknown?])[])[];
}

interface ModelTopology {
  readonly class_name: string;
  readonly config: {
    readonly name: string;
    readonly layers: readonly LayerJson[];
    readonly input_layers: readonly (readonly [string, number, number])[];
    readonly output_layers: readonly (readonly [string, number, number])[];
  };
}

/**
 * The topology of `model` cut at layer `cutAt` (the layers it depends on, nothing after), with an input of
 * `size x size x channels`. Layers keep their names and configs; no weights come along.
 */
export function cutTopology(model: tfl.LayersModel, cutAt: string, size: number): ModelTopology {
  const topology = model.toJSON(undefined, false) as unknown as ModelTopology;
  const byName = new Map(topology.config.layers.map((l) => [l.name, l]));
  if (!byName.has(cutAt)) throw new Error(`cutTopology: the model has no layer '${cutAt}'`);
  const keep = new Set<string>();
  const stack = [cutAt];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (keep.has(name)) continue;
    keep.add(name);
    for (const node of byName.get(name)?.inbound_nodes ?? []) for (const [inbound] of node) stack.push(inbound);
  }
  const layers = topology.config.layers
    .filter((l) => keep.has(l.name))
    .map((l) => {
      if (l.class_name !== 'InputLayer') return l;
      const shape = l.config.batch_input_shape as (number | null)[];
      return { ...l, config: { ...l.config, batch_input_shape: [null, size, size, shape[3] ?? 3] } };
    });
  return {
    ...topology,
    config: {
      ...topology.config,
      layers,
      input_layers: topology.config.input_layers.filter(([name]) => keep.has(name)),
      output_layers: [[cutAt, 0, 0]],
    },
  };
}

/** Keras's HeNormal: a normal truncated at two standard deviations, scaled so that its variance is 2 / fan_in. */
function heNormal(shape: readonly number[], fanIn: number, seed: number): tf.Tensor {
  return tf.truncatedNormal([...shape], 0, Math.sqrt(2 / fanIn) / 0.87962566103423978, 'float32', seed);
}

/**
 * Fresh weights for every layer: He normal kernels (fan-in `kh * kw * inputChannels` for a convolution and `kh * kw`
 * for a depthwise one, whose every output sees one input channel), zero biases, BatchNorm scale 1, offset 0, and
 * moving statistics 0 and 1 until {@link recalibrateBatchNorm} sets them.
 */
export function initialiseWeights(model: tfl.LayersModel, seed: number): void {
  model.layers.forEach((layer, index) => {
    const weights = layer.getWeights();
    if (weights.length === 0) return;
    const className = layer.getClassName();
    const fresh = tf.tidy(() =>
      weights.map((w, i) => {
        if (className === 'BatchNormalization') {
          // [gamma, beta, moving mean, moving variance]
          return i === 0 || i === 3 ? tf.onesLike(w) : tf.zerosLike(w);
        }
        if (w.rank === 1) return tf.zerosLike(w); // a bias
        const [kh = 1, kw = 1, inChannels = 1] = w.rank === 4 ? w.shape : [1, 1, w.shape[0] as number];
        const fanIn = className === 'DepthwiseConv2D' ? kh * kw : kh * kw * inChannels;
        return heNormal(w.shape, fanIn, seed * 1000 + index * 10 + i);
      }),
    );
    layer.setWeights(fresh);
    tf.dispose(fresh);
  });
}

/**
 * Sets every BatchNormalization layer's moving mean and variance to the per-channel mean and variance of its input
 * over `images`, in one pass through the graph in topological order: each layer sees the activations of the layers
 * before it with their statistics already set, exactly as inference will. Returns how many layers were set.
 */
export function recalibrateBatchNorm(model: tfl.LayersModel, images: tf.Tensor4D): number {
  const consumers = new Map<string, number>();
  for (const layer of model.layers) {
    for (const inbound of layer.inboundNodes[0]?.inboundLayers ?? []) consumers.set(inbound.name, (consumers.get(inbound.name) ?? 0) + 1);
  }
  const values = new Map<string, tf.Tensor>();
  const outputName = model.outputLayers[0]?.name;
  let calibrated = 0;
  try {
    for (const layer of model.layers) {
      const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
      if (inbound.length === 0) {
        values.set(layer.name, tf.clone(images));
        continue;
      }
      const inputs = inbound.map((l) => values.get(l.name) as tf.Tensor);
      if (layer.getClassName() === 'BatchNormalization') {
        const [gamma, beta] = layer.getWeights();
        const stats = tf.tidy(() => tf.moments(inputs[0] as tf.Tensor, [0, 1, 2]));
        layer.setWeights([gamma as tf.Tensor, beta as tf.Tensor, stats.mean, stats.variance]);
        tf.dispose([stats.mean, stats.variance]);
        calibrated++;
      }
      // Eager call on concrete tensors: inference mode, so BatchNormalization uses the statistics just set.
      const output = tf.tidy(() => layer.apply(inputs.length === 1 ? (inputs[0] as tf.Tensor) : inputs) as tf.Tensor);
      values.set(layer.name, output);
      for (const l of inbound) {
        const left = (consumers.get(l.name) ?? 0) - 1;
        consumers.set(l.name, left);
        if (left === 0 && l.name !== outputName) {
          values.get(l.name)?.dispose();
          values.delete(l.name);
        }
      }
    }
  } finally {
    tf.dispose([...values.values()]);
  }
  return calibrated;
}

/** Mean and standard deviation of a base's globally average-pooled features (what the head sees) on `images`. */
export function pooledFeatureScale(model: tfl.LayersModel, images: tf.Tensor4D): FeatureScale {
  return tf.tidy(() => {
    const features = tf.mean(model.predict(images) as tf.Tensor4D, [1, 2]);
    const { mean, variance } = tf.moments(features);
    return { mean: mean.dataSync()[0] as number, std: Math.sqrt(variance.dataSync()[0] as number) };
  });
}

/** The control and the feature scales that say what it is. */
export interface RandomBase {
  /** The base with random weights, cut at the pretrained base's feature layer, input `size x size`. */
  readonly model: tfl.LayersModel;
  /** How many BatchNormalization layers got re-estimated statistics. */
  readonly batchNormLayers: number;
  /**
   * Pooled-feature scale with the architecture's own initialisers (Glorot uniform, as saved in the topology) and
   * BatchNorm's initial statistics: the degenerate control the demo used to run.
   */
  readonly initialScale: FeatureScale;
  /** Pooled-feature scale with He normal kernels and BatchNorm's initial statistics. */
  readonly heScale: FeatureScale;
  /** Pooled-feature scale after the re-estimation: what the head trains on. */
  readonly scale: FeatureScale;
}

/**
 * Builds the control: `source`'s architecture up to `cutAt` at `size x size`, He-initialised with `seed`, BatchNorm
 * statistics re-estimated on `calibration` (preprocessed training images, as the base will see them).
 */
export async function randomBase(
  source: tfl.LayersModel,
  cutAt: string,
  size: number,
  calibration: tf.Tensor4D,
  seed: number,
): Promise<RandomBase> {
  const model = await tfl.models.modelFromJSON({ modelTopology: cutTopology(source, cutAt, size) as unknown as tf.io.ModelJSON['modelTopology'] });
  const initialScale = pooledFeatureScale(model, calibration);
  initialiseWeights(model, seed);
  const heScale = pooledFeatureScale(model, calibration);
  const batchNormLayers = recalibrateBatchNorm(model, calibration);
  return { model, batchNormLayers, initialScale, heScale, scale: pooledFeatureScale(model, calibration) };
}
