/**
 * `--base` / `--bases` values to loaded bases: the offline nsfwjs networks by name, Keras applications with ImageNet
 * weights as `keras:NAME`, and anything else through `loadBase` (registry names, URLs, model.json paths or folders).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { applications, loadBase, loadOnnxBase, type ApplicationBuilder, type ApplicationOptions, type BaseSpec } from '../index';
import { loadNsfwBase } from '../nsfwjs/index';
import { kerasName, nsfwName } from './flags';

/** A base ready for `Wrapper`, with what the command needs to know about it. */
export interface LoadedBase {
  /** The `--base` text, used as the base's name in tables and reports. */
  readonly name: string;
  /** The base. */
  readonly spec: BaseSpec;
  /** True for a graph or ONNX model, whose input size is fixed (a layers base is rebuilt for `--image-size`). */
  readonly isGraph: boolean;
  /** Frees the model. */
  dispose(): void;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function loaded(name: string, spec: BaseSpec): LoadedBase {
  const model = spec.model as { dispose?: () => void };
  return { name, spec, isGraph: !(spec.model instanceof tfl.LayersModel), dispose: () => model.dispose?.() };
}

/**
 * Loads the base named by `text` (see the module comment). `imageSize` is the side a Keras application is built for.
 *
 * @throws whatever `loadNsfwBase`, `applications` or `loadBase` throw (missing nsfwjs, no network, a bad file).
 */
export async function loadCliBase(text: string, imageSize: number | undefined): Promise<LoadedBase> {
  const nsfw = nsfwName(text);
  if (nsfw !== undefined) return loaded(text, await loadNsfwBase(nsfw));
  const keras = kerasName(text); // checked by flags.ts
  if (keras !== undefined) {
    const builder = applications[keras] as ApplicationBuilder<ApplicationOptions>;
    const side = imageSize ?? builder.defaultInputShape[0];
    const inputShape = [side, side, 3] as const;
    const model = await builder({ includeTop: false, weights: 'imagenet', inputShape });
    return loaded(text, { kind: 'tl-kit-base', name: text, model, inputShape, preprocessing: builder.preprocessing });
  }
  if (/\.onnx(\?.*)?$/i.test(text)) return loaded(text, await loadOnnxBase(text, { name: text }));
  const source = (await isDirectory(text)) ? join(text, 'model.json') : text;
  return loaded(text, await loadBase(source, { name: text }));
}
