/**
 * The class of the models `Wrapper` builds and `loadClassifier` loads: a plain tfjs `LayersModel` whose `dispose()`
 * is idempotent. It serialises under tfjs's own name, so saved files stay standard.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { InferenceBase, disposeOnce } from './inference-base';
import { checkNotDisposed } from './wrapper-view';

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

  // tfjs's own calls on a disposed model fail deep inside with a raw error ("LayersVariable ... is already
  // disposed"); these report it the one tl-kit way, a TlKitError with code DISPOSED, before anything is allocated.

  override predict(...args: Parameters<tfl.LayersModel['predict']>): ReturnType<tfl.LayersModel['predict']> {
    checkNotDisposed('model.predict', this);
    return super.predict(...args);
  }

  override predictOnBatch(...args: Parameters<tfl.LayersModel['predictOnBatch']>): ReturnType<tfl.LayersModel['predictOnBatch']> {
    checkNotDisposed('model.predictOnBatch', this);
    return super.predictOnBatch(...args);
  }

  override evaluate(...args: Parameters<tfl.LayersModel['evaluate']>): ReturnType<tfl.LayersModel['evaluate']> {
    checkNotDisposed('model.evaluate', this);
    return super.evaluate(...args);
  }

  override async fit(...args: Parameters<tfl.LayersModel['fit']>): ReturnType<tfl.LayersModel['fit']> {
    checkNotDisposed('model.fit', this);
    return super.fit(...args);
  }

  override async save(...args: Parameters<tfl.LayersModel['save']>): ReturnType<tfl.LayersModel['save']> {
    checkNotDisposed('model.save', this);
    return super.save(...args);
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
