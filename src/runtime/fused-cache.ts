/**
 * A fused executor that follows a model's weights: folded when first asked for, folded again after any weight was
 * written (training after `unfreeze`, `setWeights`, loading weights). tfjs gives a variable new storage on every
 * write, so comparing storage identities detects a write exactly, at the cost of one comparison per weight.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError } from '../errors';
import { createFrozenExecutor, type FrozenExecutor } from './executor';

/** Keeps one {@link FrozenExecutor} of `model` current with its weights. */
export class FusedExecutorCache {
  private readonly model: tfl.LayersModel;
  /** Null when the graph cannot be fused (it then runs layer by layer); undefined before the first build. */
  private state: { executor: FrozenExecutor; versions: readonly object[] } | null | undefined;

  /** @param model - the graph to fuse; it stays its owner's. */
  constructor(model: tfl.LayersModel) {
    this.model = model;
  }

  /**
   * The executor for the model's current weights, or null when the graph holds something the executor cannot plan.
   * The executor belongs to this cache: callers must not dispose it.
   */
  current(): FrozenExecutor | null {
    if (this.state === null) return null;
    const versions = this.model.weights.map((w) => w.read().dataId);
    const state = this.state;
    if (state !== undefined && state.versions.length === versions.length && state.versions.every((v, i) => v === versions[i])) {
      return state.executor;
    }
    state?.executor.dispose();
    this.state = undefined;
    try {
      this.state = { executor: createFrozenExecutor(this.model), versions };
    } catch (err) {
      if (!(err instanceof IncompatibleModelError)) throw err;
      this.state = null;
    }
    return this.state === null ? null : this.state.executor;
  }

  /** Frees the folded weights; the next {@link current} folds again. Idempotent. */
  dispose(): void {
    if (this.state) this.state.executor.dispose();
    this.state = undefined;
  }
}
