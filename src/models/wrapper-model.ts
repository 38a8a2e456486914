/**
 * The class of the models `Wrapper` builds and `loadClassifier` loads: a plain tfjs `LayersModel` whose `dispose()`
 * is idempotent. It serialises under tfjs's own name, so saved files stay standard.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { InferenceBase, disposeOnce } from './inference-base';

/** A Wrapper model. Public type: `tf.LayersModel`. */
export class WrapperModel extends tfl.LayersModel {
  /** Registration name, used only in memory when tl-kit's loaders restore a saved Wrapper model. */
  static override className = 'TlKitWrapperModel';

  /** Saved as a plain functional model. */
  override getClassName(): string {
    return 'Functional';
  }

  /** Frees the head, the optimizer a tl-kit call created, and a base the model owns; a second call does nothing. */
  override dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    return disposeOnce(() => super.dispose());
  }
}

let registered = false;

/**
 * Registers tl-kit's in-memory classes with tfjs's serialization map, under names that never appear in a saved file:
 * tl-kit's loaders rename the classes in the topology they read before building the model. Idempotent; called lazily
 * (the package has no import-time side effects).
 */
export function registerTlKitClasses(): void {
  if (registered) return;
  tf.serialization.registerClass(InferenceBase);
  tf.serialization.registerClass(WrapperModel);
  registered = true;
}
