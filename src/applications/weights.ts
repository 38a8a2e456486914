/** Loads a builder's weights (`null`, `'imagenet'` or a Keras file) and disposes the model on failure. Internal. */
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadWeightsFrom } from '../keras/load-weights';
import type { ApplicationOptions } from './common';
import { fetchWeightsFile } from './download';
import { imagenetFile, type ImagenetArch } from './imagenet';

/** What `finishModel` needs to know about the architecture. */
export interface FinishSpec {
  readonly arch: ImagenetArch;
  readonly options: ApplicationOptions | undefined;
  /** MobileNetV2's width multiplier. */
  readonly alpha?: number;
}

/** Loads the requested weights into `model` (already validated options); disposes `model` when loading fails. */
export async function finishModel(call: string, model: tfl.LayersModel, spec: FinishSpec): Promise<tfl.LayersModel> {
  const weights = spec.options?.weights ?? null;
  if (weights === null) return model;
  try {
    if (weights === 'imagenet') {
      const includeTop = spec.options?.includeTop ?? true;
      const rows = (model.inputs[0]?.shape[1] as number | undefined) ?? 224;
      const entry = imagenetFile(spec.arch, includeTop, spec.alpha, rows);
      const bytes = await fetchWeightsFile(call, entry, spec.options?.cacheDir);
      // Keras loads its published files by layer order (their InceptionV3 layer names come from an older session).
      await loadWeightsFrom(call, 'weights', model, bytes, 'order');
    } else {
      await loadWeightsFrom(call, 'weights', model, weights, 'auto');
    }
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}
