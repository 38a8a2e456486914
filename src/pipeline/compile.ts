/**
 * Model checks and compilation for the pipeline: does the model's output fit the data's classes, which loss goes with
 * its head, and which optimizer to use.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError, InvalidArgumentError, TrainingError } from '../errors';
import type { ImageBatchSource } from '../data/types';

/** Named optimizer choices of `fit` and `fineTune`. */
export type OptimizerName = 'adam' | 'tutorial';

/**
 * The optimizer presets, with the learning rate each uses when `learningRate` is not given.
 * - `adam`: Adam, 1e-3: the default for training a head on a frozen base (the Keras transfer-learning guide). On a
 *   small real set (91 photos, 4 classes, frozen MobileNetV2) it learned within 10 epochs where the tutorial's
 *   RMSprop 1e-4 left the head near chance (0.37 test accuracy); re-measured on 91 Fashion-MNIST images (4 classes,
 *   3 seeds): test accuracy 0.79-0.96 with Adam vs 0.50-0.61 with RMSprop 1e-4 (docs/pipeline.md has the table).
 * - `tutorial`: RMSprop, 1e-4: the TensorFlow "Transfer learning with a pretrained ConvNet" tutorial's settings, to
 *   reproduce it.
 */
export const OPTIMIZER_PRESETS: Readonly<Record<OptimizerName, OptimizerPreset>> =
  Object.freeze({
    adam: Object.freeze({ optimizer: 'adam', learningRate: 1e-3 }),
    tutorial: Object.freeze({ optimizer: 'rmsprop', learningRate: 1e-4 }),
  });

/** An optimizer preset: which tfjs optimizer and at what learning rate. */
export interface OptimizerPreset {
  /** The tfjs optimizer: `'adam'` or `'rmsprop'`. */
  readonly optimizer: string;
  /** Its default learning rate. */
  readonly learningRate: number;
}

/** Number of output units of a single-output model. */
export function outputUnits(call: string, model: tfl.LayersModel): number {
  if (model.outputs.length !== 1) {
    throw new IncompatibleModelError(`${call}: the model has ${model.outputs.length} outputs; tl-kit trains single-output classifiers`);
  }
  const shape = model.outputs[0]?.shape ?? [];
  const units = shape[shape.length - 1];
  if (shape.length !== 2 || typeof units !== 'number') {
    throw new IncompatibleModelError(
      `${call}: the model's output shape is [${shape.join(', ')}]; expected [batch, classes] (flatten or pool before the head)`,
    );
  }
  return units;
}

/** Throws unless the model's output size matches the data's classes and label mode. */
export function checkModelFitsData(call: string, model: tfl.LayersModel, data: ImageBatchSource): void {
  const units = outputUnits(call, model);
  const classes = data.labelNames.length;
  const expected = data.labelMode === 'binary' ? 1 : classes;
  if (units !== expected) {
    const what =
      data.labelMode === 'binary' ? '1 sigmoid unit' : `${classes} softmax units, one per class`;
    throw new IncompatibleModelError(
      `${call}: the model outputs ${units} value${units === 1 ? '' : 's'} per image but the data has ${classes} ` +
        `classes with labelMode '${data.labelMode}' (expected ${what})`,
    );
  }
  const [h, w] = data.imageSize;
  const inShape = model.inputs[0]?.shape ?? [];
  if ((inShape[1] != null && inShape[1] !== h) || (inShape[2] != null && inShape[2] !== w)) {
    throw new IncompatibleModelError(
      `${call}: the model takes ${inShape[1]}x${inShape[2]} images but the data's imageSize is ${h}x${w}; build the model for the data with Wrapper(base, { inputShape: [${h}, ${w}, 3] }) or load the data with imageSize: [${inShape[1]}, ${inShape[2]}]`,
    );
  }
}

/**
 * The activation that produces the model's output: the last layer's `activation` config, or the last layer itself
 * when it is an activation layer (`Activation`, `Softmax`, `ReLU`...). Undefined when the model does not say.
 */
function outputActivation(model: tfl.LayersModel): string | undefined {
  const last = model.layers[model.layers.length - 1];
  if (last === undefined) return undefined;
  const className = last.getClassName();
  if (className === 'Softmax') return 'softmax';
  if (className === 'ReLU' || className === 'LeakyReLU' || className === 'ELU') return className.toLowerCase();
  let config: { activation?: unknown };
  try {
    config = last.getConfig() as { activation?: unknown };
  } catch {
    return undefined;
  }
  return typeof config.activation === 'string' ? config.activation : undefined;
}

/** The loss's name (`'binaryCrossentropy'`, ...) whether the model was compiled with a name or a tfjs function. */
function lossName(loss: unknown): string | undefined {
  const one = Array.isArray(loss) ? loss[0] : loss;
  if (typeof one === 'string') return one.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
  if (typeof one === 'function' && one.name) return one.name;
  return undefined;
}

/**
 * Refuses output / loss / label combinations that can never learn, whoever compiled the model: categorical
 * cross-entropy on one unit (the loss is exactly 0 for every weight), softmax over one unit (always 1: a constant
 * loss), and cross-entropy on a head without probabilities. The message says which combination works.
 */
export function checkHeadCanLearn(call: string, model: tfl.LayersModel, data: ImageBatchSource): void {
  const units = outputUnits(call, model);
  const activation = outputActivation(model);
  const loss = lossName(model.loss) ?? (data.labelMode === 'binary' ? 'binaryCrossentropy' : 'categoricalCrossentropy');
  const works =
    data.labelMode === 'binary'
      ? "one sigmoid unit with 'binaryCrossentropy' (Wrapper's default for two classes)"
      : `${units} softmax units with 'categoricalCrossentropy' (Wrapper's default with labelMode 'categorical')`;
  const refuse = (what: string): never => {
    throw new IncompatibleModelError(`${call}: ${what}, so training could never learn; use ${works}`);
  };
  if (units === 1 && activation === 'softmax') refuse("the output is a softmax over one unit, which is always 1 (the loss cannot change)");
  if (units === 1 && /^(sparse)?[cC]ategoricalCrossentropy$/.test(loss)) {
    refuse(`the model is compiled with '${loss}' on one output unit, whose loss is 0 for every weight`);
  }
  const crossEntropy = /Crossentropy$/.test(loss);
  if (crossEntropy && activation !== undefined && activation !== 'sigmoid' && activation !== 'softmax') {
    refuse(`the output activation is '${activation}' but '${loss}' needs probabilities (a linear Dense under cross-entropy is a known tutorial bug)`);
  }
}

/** Whether the model has been compiled (has an optimizer and a loss). */
export function isCompiled(model: tfl.LayersModel): boolean {
  return model.optimizer != null && model.loss != null;
}

/** Builds an optimizer from a preset name and learning rate. */
export function makeOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  const preset = OPTIMIZER_PRESETS[name];
  return preset.optimizer === 'adam' ? tf.train.adam(learningRate) : tf.train.rmsprop(learningRate);
}

/** Resolves `optimizer` / `learningRate` options into an optimizer to compile with, or null to keep the model's. */
export function resolveOptimizer(
  call: string,
  optimizer: OptimizerName | tf.Optimizer | undefined,
  learningRate: number | undefined,
  defaultName: OptimizerName,
  defaultRate?: number,
): tf.Optimizer | null {
  if (typeof optimizer === 'object' && optimizer !== null && optimizer instanceof tf.Optimizer) {
    if (learningRate !== undefined) {
      throw new InvalidArgumentError(call, 'learningRate', 'omitted when optimizer is an Optimizer instance', learningRate);
    }
    return optimizer;
  }
  if (optimizer !== undefined && optimizer !== 'adam' && optimizer !== 'tutorial') {
    throw new InvalidArgumentError(call, 'optimizer', "'adam', 'tutorial' or a tf.Optimizer", optimizer);
  }
  if (optimizer === undefined && learningRate === undefined && defaultRate === undefined) return null;
  const name = optimizer ?? defaultName;
  return makeOptimizer(name, learningRate ?? defaultRate ?? OPTIMIZER_PRESETS[name].learningRate);
}

/**
 * Compiles `model` when it is not compiled yet, or with `optimizer` when one is given. The loss follows the data:
 * binary cross-entropy for one sigmoid unit, categorical cross-entropy for softmax outputs; metrics: accuracy.
 * An optimizer created here is owned by the model (freed by `model.dispose()`).
 */
export function ensureCompiled(
  call: string,
  model: tfl.LayersModel,
  data: ImageBatchSource,
  optimizer: tf.Optimizer | null,
  ownsOptimizer: boolean,
): void {
  const compiled = isCompiled(model);
  // Whoever compiled the model, a combination that can never learn is refused before anything trains.
  if (compiled) checkHeadCanLearn(call, model, data);
  if (compiled && optimizer === null) return;
  let loss = model.loss;
  if (!compiled) {
    const activation = outputActivation(model);
    const wanted = data.labelMode === 'binary' ? 'sigmoid' : 'softmax';
    if (activation !== undefined && activation !== wanted) {
      throw new IncompatibleModelError(
        `${call}: the output layer has activation '${activation}', but ${data.labelMode} cross-entropy needs ` +
          `probabilities from '${wanted}' (a Dense(1) without activation under binaryCrossentropy is a known tutorial bug); ` +
          `end the model in a Dense layer with activation '${wanted}'` +
          (data.labelMode === 'binary' ? ' and one unit' : ` and ${data.labelNames.length} units`),
      );
    }
    loss = data.labelMode === 'binary' ? 'binaryCrossentropy' : 'categoricalCrossentropy';
  }
  // tfjs's own ownership flag (protected): a model frees the optimizer it owns in dispose(), and tfjs sets the flag
  // only for optimizers given by name, which cannot carry a learning rate. Setting it is the one way a model that is
  // not tl-kit's own class frees the optimizer tl-kit made for it.
  const owner = model as unknown as { isOptimizerOwned?: boolean };
  const previous = compiled ? model.optimizer : undefined;
  const previousOwned = owner.isOptimizerOwned === true;
  model.compile({ optimizer: optimizer ?? makeOptimizer('adam', OPTIMIZER_PRESETS.adam.learningRate), loss, metrics: ['accuracy'] });
  owner.isOptimizerOwned = optimizer === null || ownsOptimizer;
  // Recompiling replaces an optimizer the model owned: free its state (moments) so nothing is left behind.
  if (previous && previousOwned && previous !== model.optimizer) previous.dispose();
}

/** The trainable-variable names each optimizer last trained through tl-kit, in order. */
const lastVariables = new WeakMap<tf.Optimizer, string>();

/**
 * Makes sure the model's optimizer can train `variables`. tfjs optimizers keep their per-variable state (Adam's
 * moments, RMSprop's mean squares) by position in the variable list, so after the trainable weights changed (unfreeze,
 * or a head-only `fit` after `fineTune`) a kept optimizer would apply one weight's state to another and fail on the
 * shapes, or silently mix them. An optimizer the model owns is replaced by a fresh one with the same settings (as the
 * Keras recipe recompiles after unfreezing); one the caller passed in is refused.
 */
export function ensureOptimizerFits(
  call: string,
  model: tfl.LayersModel,
  data: ImageBatchSource,
  variables: readonly tf.Variable[],
): void {
  const key = variables.map((v) => v.name).join('\n');
  const optimizer = model.optimizer;
  const previous = lastVariables.get(optimizer);
  if (previous !== undefined && previous !== key) {
    const owned = (model as unknown as { isOptimizerOwned?: boolean }).isOptimizerOwned === true;
    const cls = optimizer.constructor as unknown as {
      fromConfig?: (cls: unknown, config: tf.serialization.ConfigDict) => tf.Optimizer;
    };
    if (!owned || typeof cls.fromConfig !== 'function') {
      throw new TrainingError(
        `${call}: the model's optimizer was last used on other trainable weights (unfreeze or fineTune changed them), ` +
          "and a tfjs optimizer keeps its state by position; pass a new optimizer or a preset name ('adam', 'tutorial')",
      );
    }
    ensureCompiled(call, model, data, cls.fromConfig(cls, optimizer.getConfig()), true);
  }
  lastVariables.set(model.optimizer, key);
}

/** Per-example loss of the compiled model: `[batch]`. */
export function lossFunction(model: tfl.LayersModel, data: ImageBatchSource): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor {
  const fn = model.lossFunctions?.[0];
  if (fn) return (yTrue, yPred) => fn(yTrue, yPred);
  return data.labelMode === 'binary' ? tfl.metrics.binaryCrossentropy : tfl.metrics.categoricalCrossentropy;
}

/** Per-example accuracy (0/1) for the data's label mode: `[batch]`. */
export function accuracyFunction(data: ImageBatchSource): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor {
  return data.labelMode === 'binary' ? tfl.metrics.binaryAccuracy : tfl.metrics.categoricalAccuracy;
}
