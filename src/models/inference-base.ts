/**
 * The frozen-base guarantee. tfjs 4.22's training executor passes `training: true` to every layer it runs inside
 * `fit`/`trainOnBatch`, overriding whatever the layer was applied with, so a BatchNormalization layer of a "frozen"
 * base normalises with batch statistics and overwrites its moving mean and variance. {@link InferenceBase} is a
 * nested model that ignores the `training` flag it receives and runs its own graph with `training: false` for every
 * layer (recursing into nested models), so its BN layers always use, and never update, their moving statistics.
 *
 * It runs on a BN-folded, fused executor of its graph (see `createFrozenExecutor`): the same outputs within float
 * rounding, 2-3x faster on the wasm backend. The executor holds folded copies of the weights, is built by
 * {@link InferenceBase.prepareFused} or on first use, and is rebuilt when any weight of the base has been written
 * since (training after `unfreeze`, `setWeights`, loading weights). Only when some base weight is trainable and a
 * gradient tape is recording (fine-tuning) do the layers run as themselves, so that gradients reach those weights.
 *
 * It serialises like a plain nested Keras model under its own class name; {@link registerTlKitLayers} registers that
 * class with tfjs's serialization map (lazily: the package has no import-time side effects).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError } from '../errors';
import { createFrozenExecutor, type FrozenExecutor } from '../runtime/executor';

type ContainerArgs = ConstructorParameters<typeof tfl.LayersModel>[0];
type Kwargs = Record<string, unknown>;
type GraphNode = tfl.LayersModel['nodesByDepth'][string][number];

/** A nested model that always runs its layers in inference mode, whatever `training` flag the caller passes. */
export class InferenceBase extends tfl.LayersModel {
  /** Serialization name; registered lazily by {@link registerTlKitLayers}. */
  static override className = 'TlKitInferenceBase';

  /**
   * True when the layers belong to a caller's model (a cut of it): `dispose()` then releases only this container and
   * leaves the layers' weights to their owner. False for a rebuilt or deserialised base, which owns its layers.
   */
  sharesLayers = false;

  /**
   * The fused executor and the weight versions it was folded from; null when the graph cannot be fused (it then
   * always runs layer by layer), undefined before the first build.
   */
  private fusedState: { executor: FrozenExecutor; versions: readonly object[] } | null | undefined;

  constructor(args: ContainerArgs) {
    super(args);
  }

  /**
   * Runs the graph with `training: false` for every layer; the outer executor's `training` flag is ignored. The fused
   * executor runs it unless a trainable base weight needs gradients.
   */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      // Trainable base weights need gradients, which folded copies would not pass on; a frozen base is fused even
      // under a tape (tfjs itself unfuses activations there, so gradients to the input still work).
      const executor = isRecordingGradients() && this.trainableWeights.length > 0 ? null : this.prepareFused();
      const outs = executor ? toList(executor.predict(list)) : runInference(this, list);
      return outs.length === 1 ? (outs[0] as tf.Tensor) : outs;
    });
  }

  /**
   * The fused executor for the base's current weights: built on first call, rebuilt after any weight was written
   * (tfjs gives a variable new storage on every write, so comparing storage identities detects it exactly). Null
   * when the graph holds something the executor cannot plan; the base then runs layer by layer, with the same
   * results. The executor belongs to this base: callers must not dispose it, and `dispose()` frees it.
   */
  prepareFused(): FrozenExecutor | null {
    if (this.fusedState === null) return null;
    const versions = this.weights.map((w) => w.read().dataId);
    const current = this.fusedState;
    if (current !== undefined && current.versions.length === versions.length && current.versions.every((v, i) => v === versions[i])) {
      return current.executor;
    }
    current?.executor.dispose();
    this.fusedState = undefined;
    try {
      this.fusedState = { executor: createFrozenExecutor(this), versions };
    } catch (err) {
      if (!(err instanceof IncompatibleModelError)) throw err;
      this.fusedState = null;
    }
    return this.fusedState === null ? null : this.fusedState.executor;
  }

  /** Frees the fused executor's folded weights, and the layers' weights only when this base owns them. */
  override dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    this.fusedState?.executor.dispose();
    this.fusedState = undefined;
    if (!this.sharesLayers) return super.dispose();
    if (this._refCount === 0) throw new Error(`Container '${this.name}' is already disposed.`);
    this._refCount = (this._refCount ?? 1) - 1;
    return { refCountAfterDispose: this._refCount, numDisposedVariables: 0 };
  }

  /**
   * Only records the flag. tfjs's Container setter would overwrite every inner weight's flag, which would undo the
   * per-layer choices of `unfreeze`; inner layers carry their own `trainable` flags instead.
   */
  override get trainable(): boolean {
    return this.trainable_;
  }

  override set trainable(value: boolean) {
    this.trainable_ = value;
  }
}

/** True inside `tf.grad` / `optimizer.minimize` / `fit`'s training step. */
function isRecordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

function toList(out: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(out) ? out : [out];
}

/**
 * Runs `container`'s graph on concrete tensors with `training: false` passed to every layer. Nested models are run
 * the same way (tfjs's own Container.call would use the kwargs recorded when the graph was built). Not tidied: the
 * caller tidies.
 */
export function runInference(container: tfl.LayersModel, inputs: readonly tf.Tensor[]): tf.Tensor[] {
  if (inputs.length !== container.inputs.length) {
    throw new Error(`runInference: ${container.name} takes ${container.inputs.length} inputs, got ${inputs.length}`);
  }
  const values = new Map<number, tf.Tensor>();
  container.inputs.forEach((sym, i) => values.set(sym.id, inputs[i] as tf.Tensor));
  const depths = Object.keys(container.nodesByDepth)
    .map((d) => Number(d))
    .sort((a, b) => b - a);
  for (const depth of depths) {
    for (const node of container.nodesByDepth[String(depth)] ?? []) {
      runNode(node, values);
    }
  }
  return container.outputs.map((sym) => {
    const value = values.get(sym.id);
    if (value === undefined) throw new Error(`runInference: output ${sym.name} of ${container.name} was not computed`);
    return value;
  });
}

function runNode(node: GraphNode, values: Map<number, tf.Tensor>): void {
  if (node.inboundLayers.length === 0) return; // an InputLayer: its value was fed
  const layer = node.outboundLayer;
  const ins: tf.Tensor[] = [];
  for (const sym of node.inputTensors) {
    const v = values.get(sym.id);
    if (v === undefined) return; // a branch that does not feed this container's outputs
    ins.push(v);
  }
  if (ins.length === 0) return;
  let outs: tf.Tensor[];
  if (layer instanceof tfl.LayersModel) {
    outs = runInference(layer, ins);
  } else {
    const kwargs: Kwargs = { ...(node.callArgs ?? {}), training: false };
    delete kwargs['mask'];
    const result = layer.call(ins.length === 1 ? (ins[0] as tf.Tensor) : ins, kwargs);
    outs = toList(result);
  }
  node.outputTensors.forEach((sym, i) => {
    const out = outs[i];
    if (out !== undefined) values.set(sym.id, out);
  });
}

let registered = false;

/**
 * Registers tl-kit's custom layer classes with tfjs's serialization map, so that a saved Wrapper model can be
 * reloaded with `tf.loadLayersModel`. Wrapper and tl-kit's loaders call it; call it yourself before loading a saved
 * Wrapper model with plain tfjs. Idempotent.
 *
 * @example
 * ```ts
 * import { registerTlKitLayers } from 'tl-kit';
 * registerTlKitLayers();
 * const model = await tf.loadLayersModel('https://example.com/classifier/model.json');
 * ```
 */
export function registerTlKitLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(InferenceBase);
  registered = true;
}
