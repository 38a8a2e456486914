/**
 * Turns a user's LayersModel into the {@link InferenceBase} a Wrapper uses: cut at a layer (Keras
 * `include_top=False`) and, when asked, rebuilt for another input size with the same weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError, InvalidArgumentError } from '../errors';
import { InferenceBase } from './inference-base';
import { closestNames } from '../internal/suggest';

/** Layer classes whose output size depends on the input's spatial size: a base containing one cannot be rebuilt. */
const SIZE_BOUND_LAYERS = new Set(['Flatten', 'Reshape']);

/** The image input shape `[h, w, c]` of a single-input model; nulls for free dimensions. */
export function imageInputShape(call: string, model: tfl.LayersModel): (number | null)[] {
  if (model.inputs.length !== 1) {
    throw new IncompatibleModelError(`${call}: the base must have exactly one input, it has ${model.inputs.length}`);
  }
  const shape = (model.inputs[0] as tfl.SymbolicTensor).shape;
  if (shape.length !== 4) {
    throw new IncompatibleModelError(
      `${call}: the base's input must be images [batch, height, width, channels], got shape [${shape.join(', ')}]`,
    );
  }
  return shape.slice(1);
}

/** A new InferenceBase over the layers of `base` from its input up to `cutAt` (or its only output). Shares weights. */
export function cutBase(call: string, base: tfl.LayersModel, cutAt: string | undefined): InferenceBase {
  let output: tfl.SymbolicTensor;
  if (cutAt === undefined) {
    if (base.outputs.length !== 1) {
      throw new InvalidArgumentError(
        call,
        'cutAt',
        `the name of the layer to use, since the base has ${base.outputs.length} outputs`,
        cutAt,
      );
    }
    output = base.outputs[0] as tfl.SymbolicTensor;
  } else {
    const names = base.layers.map((l) => l.name);
    if (!names.includes(cutAt)) {
      throw new InvalidArgumentError(
        call,
        'cutAt',
        `the name of a layer of the base (closest: ${closestNames(cutAt, names).join(', ')})`,
        cutAt,
      );
    }
    const layer = base.getLayer(cutAt);
    const nodes = layer.inboundNodes.filter((n) => n.outputTensors.length > 0);
    const out = nodes[0]?.outputTensors;
    if (nodes.length !== 1 || out === undefined || out.length !== 1) {
      throw new InvalidArgumentError(call, 'cutAt', 'a layer with one output that is used once in the base', cutAt);
    }
    output = out[0] as tfl.SymbolicTensor;
  }
  try {
    const core = new InferenceBase({ inputs: base.inputs, outputs: [output], name: 'tlkit_base' });
    core.sharesLayers = true;
    return core;
  } catch (err) {
    throw new IncompatibleModelError(`${call}: cannot use the base up to ${cutAt ?? 'its output'}`, { cause: err });
  }
}

/**
 * Rebuilds `core` for `inputShape` (a fully convolutional base works at any size) and copies its weights. The result
 * owns new weight variables; `core`'s are untouched.
 */
export function rebuildForInput(
  call: string,
  core: InferenceBase,
  inputShape: readonly [number, number, number],
): InferenceBase {
  const own = imageInputShape(call, core);
  if (own[2] !== null && own[2] !== inputShape[2]) {
    throw new InvalidArgumentError(call, 'inputShape', `an image shape with ${own[2]} channels, like the base's`, [
      ...inputShape,
    ]);
  }
  const bound = core.layers.filter((l) => SIZE_BOUND_LAYERS.has(l.getClassName()));
  if (bound.length > 0) {
    throw new InvalidArgumentError(
      call,
      'inputShape',
      `the base's own input shape [${own.join(', ')}], because its ${bound[0]?.getClassName()} layer '${bound[0]?.name}' fixes the size (cut the base before it with cutAt)`,
      [...inputShape],
    );
  }
  const config = core.getConfig() as { layers: { className: string; config: Record<string, unknown> }[] };
  const copy = JSON.parse(JSON.stringify(config)) as typeof config;
  for (const entry of copy.layers) {
    if (entry.className === 'InputLayer') entry.config['batchInputShape'] = [null, ...inputShape];
  }
  let rebuilt: InferenceBase;
  try {
    rebuilt = InferenceBase.fromConfig(InferenceBase, copy as unknown as tf.serialization.ConfigDict) as InferenceBase;
  } catch (err) {
    throw new IncompatibleModelError(
      `${call}: the base cannot be rebuilt for inputShape [${inputShape.join(', ')}]`,
      { cause: err },
    );
  }
  const empty = firstEmptyOutput(rebuilt);
  if (empty !== undefined) {
    rebuilt.dispose();
    throw new InvalidArgumentError(
      call,
      'inputShape',
      `large enough that every layer of the base keeps an output (at [${inputShape.join(', ')}] layer '${empty.name}' would output [${empty.shape.map((d) => d ?? 'null').join(', ')}])`,
      [...inputShape],
    );
  }
  for (const layer of rebuilt.layers) {
    const source = core.getLayer(layer.name);
    const values: tf.Tensor[] = source.getWeights();
    if (values.length > 0) layer.setWeights(values);
  }
  return rebuilt;
}

/** The first layer (nested models included) whose output would have a dimension of 0 or less, if any. */
function firstEmptyOutput(model: tfl.LayersModel): { name: string; shape: readonly (number | null)[] } | undefined {
  for (const layer of model.layers) {
    if (layer instanceof tfl.LayersModel) {
      const inner = firstEmptyOutput(layer);
      if (inner) return inner;
      continue;
    }
    const shape = layer.outputShape as (number | null)[] | (number | null)[][];
    const shapes = (Array.isArray(shape[0]) ? shape : [shape]) as (number | null)[][];
    for (const s of shapes) if (s.some((d) => d !== null && d <= 0)) return { name: layer.name, shape: s };
  }
  return undefined;
}
