/**
 * `loadClassifier`: a saved classifier back as a ready-to-use object whose `predict(image)` prepares the image
 * exactly like the training data and returns labelled probabilities.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../data/decode';
import { prepareImages } from '../data/prepare';
import type { ImageSource } from '../data/sources';
import { InvalidArgumentError, LoadError, TlKitError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { fileLoadHandler } from '../io/file-handler';
import { httpLoadHandler } from '../io/http';
import { registerTlKitLayers } from '../models/inference-base';
import { METADATA_KEY, parseMetadata, type ClassifierMetadata } from './metadata';
import { hasWrapperLayout, restoreWrapperParts } from '../models/restore';

/** One class and its probability. */
export interface Prediction {
  /** Class name. */
  readonly label: string;
  /** Probability in [0, 1]. */
  readonly probability: number;
}

/** A loaded classifier. */
export interface Classifier {
  /**
   * Classifies one image (a path, URL, bytes, pixels, a 0..255 Tensor3D or a browser image): decoded, resized and
   * preprocessed like the training data; a frozen base runs on its BN-folded, fused executor. Every class comes
   * back, most probable first. Throws a `TlKitError`
   * (`INVALID_ARGUMENT`) after `dispose()`, and a `DecodeError` for an image that cannot be decoded.
   */
  predict(image: ImageSource): Promise<Prediction[]>;
  /** Class names, index = class id. */
  readonly labelNames: readonly string[];
  /** The saved metadata. */
  readonly metadata: ClassifierMetadata;
  /** The underlying model (owned by the classifier: freed by `dispose()`). */
  readonly model: tfl.LayersModel;
  /** Frees the model's weights. */
  dispose(): void;
}

/** Options of {@link loadClassifier}. */
export interface LoadClassifierOptions {
  /**
   * For `http(s)://` sources: the fetch function.
   * @defaultValue `globalThis.fetch`
   */
  readonly fetch?: typeof fetch;
}

const LOAD_KEYS: Readonly<Record<keyof LoadClassifierOptions, true>> = { fetch: true };

/**
 * tfjs's own http saver (used by `saveClassifier` for http(s) destinations) writes weight paths as
 * `./model.weights.bin`; the safe loader wants plain relative names. This fetch strips a leading `./` from the
 * manifest paths of the model.json it returns, and passes every other response through.
 */
function withPlainWeightPaths(modelJsonUrl: string, base: typeof fetch): typeof fetch {
  return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const response = await base(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url !== modelJsonUrl || !response.ok) return response;
    const text = await response.text();
    let json: { weightsManifest?: { paths?: unknown }[] };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      return new Response(text, { status: response.status, headers: response.headers });
    }
    for (const group of json.weightsManifest ?? []) {
      if (Array.isArray(group.paths)) {
        group.paths = group.paths.map((p) => (typeof p === 'string' && p.startsWith('./') ? p.slice(2) : p));
      }
    }
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    return new Response(JSON.stringify(json), { status: response.status, headers });
  }) as typeof fetch;
}

/** Turns `src` into an IOHandler or a tfjs URL. */
async function resolveSource(call: string, src: string, options: LoadClassifierOptions): Promise<string | tf.io.IOHandler> {
  if (/^https?:\/\//i.test(src)) {
    const url = /\.json(\?|$)/.test(src) ? src : `${src.replace(/\/+$/, '')}/model.json`;
    const base = options.fetch ?? globalThis.fetch.bind(globalThis);
    return httpLoadHandler(url, { cacheDir: false, fetch: withPlainWeightPaths(url, base) });
  }
  if (/^(indexeddb|localstorage):\/\//i.test(src)) return src;
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(src) && !/^file:/i.test(src)) {
    throw new InvalidArgumentError(call, 'src', 'a folder path, file:// URL, indexeddb:// or http(s):// URL', src);
  }
  return fileLoadHandler(/model\.json$/i.test(src) ? src : `${src.replace(/[\\/]+$/, '')}/model.json`);
}

/**
 * Loads a classifier written by {@link saveClassifier}: a folder (Node, path or `file://` URL), an `indexeddb://` or
 * `localstorage://` key, or an `http(s)://` URL of the folder or its `model.json`.
 *
 * @param src - where the classifier was saved.
 * @param options - see {@link LoadClassifierOptions}.
 * @returns the classifier; call `dispose()` when done.
 * @throws {@link InvalidArgumentError} for a bad `src`.
 * @throws {@link LoadError} when the model cannot be read or carries no tl-kit metadata.
 * @throws {@link UnsafeModelError} for a model file that fails the loader's safety checks.
 * @example
 * ```ts
 * const classifier = await loadClassifier('./out/flowers');
 * console.log(await classifier.predict('rose.jpg')); // [{ label: 'roses', probability: 0.93 }, ...]
 * classifier.dispose();
 * ```
 */
export async function loadClassifier(src: string, options: LoadClassifierOptions = {}): Promise<Classifier> {
  const call = 'loadClassifier';
  if (typeof src !== 'string' || src.length === 0) {
    throw new InvalidArgumentError(call, 'src', 'a folder path, file:// URL, indexeddb:// or http(s):// URL', src);
  }
  checkOptionsObject(call, options);
  checkOptionKeys<LoadClassifierOptions>(call, options, LOAD_KEYS);
  registerTlKitLayers();
  const handler = await resolveSource(call, src, options);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(handler);
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: cannot load the model from ${src}: ${(err as Error).message}`, { cause: err });
  }
  let metadata: ClassifierMetadata;
  try {
    const embedded = (model.getUserDefinedMetadata() as Record<string, unknown> | undefined)?.[METADATA_KEY];
    metadata = parseMetadata(call, src, embedded);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const { imageSize, resize, preprocessing, labelNames } = metadata;
  // A Wrapper model gets its structure back, so evaluate / fit on classifier.model use cached features and the fused
  // base as they did before saving.
  if (hasWrapperLayout(model)) {
    try {
      restoreWrapperParts(model, { ...(metadata.baseName === undefined ? {} : { baseName: metadata.baseName }), preprocessing });
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  const size: [number, number] = [imageSize[0], imageSize[1]];
  const binary = metadata.labelMode === 'binary';
  let disposed = false;
  return {
    labelNames,
    metadata,
    model,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
    predict: async (image: ImageSource): Promise<Prediction[]> => {
      if (disposed) {
        throw new TlKitError('INVALID_ARGUMENT', 'Classifier.predict: the classifier was disposed; load it again');
      }
      const decoded = await decodeImage(image, { imageSize: size, resize });
      let probs: Float32Array | Int32Array | Uint8Array;
      let out: tf.Tensor | undefined;
      try {
        out = tf.tidy(() => model.predict(prepareImages(decoded, { imageSize: size, resize, preprocessing })) as tf.Tensor);
        probs = await out.data();
      } finally {
        decoded.dispose();
        out?.dispose();
      }
      const scored: Prediction[] = binary
        ? [
            { label: labelNames[1] as string, probability: probs[0] as number },
            { label: labelNames[0] as string, probability: 1 - (probs[0] as number) },
          ]
        : labelNames.map((label, i) => ({ label, probability: probs[i] as number }));
      return scored.sort((a, b) => b.probability - a.probability);
    },
  };
}
