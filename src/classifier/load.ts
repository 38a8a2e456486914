/**
 * `loadClassifier`: a saved classifier back as a ready-to-use object whose `predict(image)` prepares the image
 * exactly like the training data and returns labelled probabilities.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../data/decode';
import { prepareImages } from '../data/prepare';
import type { ImageSource } from '../data/sources';
import { InvalidArgumentError, LoadError, TlKitError, UnsupportedError, disposedError } from '../errors';
import { checkOneOf, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { namedBy } from '../internal/named-error';
import { fileLoadHandlerFor } from '../io/file-handler';
import { httpLoadHandler } from '../io/http';
import type { GraphModelLike } from '../models/base-spec';
import { cloneLayer } from '../models/clone-layer';
import { loadBase } from '../models/load-base';
import { openBaseRuntime } from '../models/runtime-choice';
import { assembleWrapper, graphBase, onnxBase, type BuiltBase } from '../models/wrapper';
import { loadOnnxBase } from '../models/load-onnx-base';
import { layersModelFromArtifacts, type ModelTopologyJson } from '../models/load-layers';
import { registerTlKitClasses } from '../models/wrapper-model';
import { describeWrapper, type WrapperView } from '../models/wrapper-view';
import type { BaseRuntimeInfo, EngineChoice, FrozenRuntime } from '../runtime/types';
import { METADATA_KEY, parseMetadata, type ClassifierMetadata } from './metadata';
import { restoreClasses } from './restore-classes';

/**
 * One class and its probability.
 *
 * @category saving
 */
export interface Prediction {
  /** Class name. */
  readonly label: string;
  /** Probability in [0, 1]. */
  readonly probability: number;
}

/**
 * A loaded classifier.
 *
 * @example
 * ```ts
 * const classifier = await loadClassifier('./out/flowers');
 * console.log(classifier.labelNames, classifier.runtime?.summary);
 * console.log(await classifier.predict('rose.jpg'));
 * await classifier.dispose();
 * ```
 *
 * @category saving
 */
export interface Classifier {
  /**
   * Classifies one image (a path, URL, bytes, pixels, a 0..255 Tensor3D or a browser image): decoded, resized and
   * preprocessed like the training data; the frozen base runs on the classifier's runtime (see `runtime`). Every
   * class comes back, most probable first. Throws a `TlKitError` with code `DISPOSED` after `dispose()`, and a
   * `DecodeError` for an image that cannot be decoded.
   */
  predict(image: ImageSource): Promise<Prediction[]>;
  /** Class names, index = class id. */
  readonly labelNames: readonly string[];
  /** The saved metadata (tl-kit 0.1 files are read into the current layout). */
  readonly metadata: ClassifierMetadata;
  /**
   * The underlying model (owned by the classifier: freed by `dispose()`). A layers-base classifier's model has the
   * Wrapper's in-memory form again: `fit`, `evaluate`, `fineTune` and even a plain `model.fit` keep the base's
   * BatchNorm statistics untouched.
   */
  readonly model: tfl.LayersModel;
  /** What runs the frozen base in `predict`; undefined when the model is not Wrapper-shaped (it runs as a whole). */
  readonly runtime: BaseRuntimeInfo | undefined;
  /** Frees the model's weights, the base's runtime and a separately stored base. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Options of {@link loadClassifier}.
 *
 * @category saving
 */
export interface LoadClassifierOptions {
  /**
   * For `http(s)://` sources: the fetch function.
   * @defaultValue `globalThis.fetch`
   */
  readonly fetch?: typeof fetch;
  /**
   * The engine `predict` (and tl-kit's calls on `classifier.model`) run the frozen base on: `'auto'` uses ONNX Runtime
   * in Node when `onnxruntime-node` is installed and the base converts, tfjs otherwise; `'onnxruntime'` insists;
   * `'tfjs'` stays on tfjs. See `WrapperOptions.engine`.
   * @defaultValue 'auto' (an ONNX base always runs on ONNX Runtime)
   */
  readonly engine?: EngineChoice;
  /**
   * ONNX Runtime execution providers, passed through (e.g. `['cuda', 'cpu']`); untested by tl-kit beyond `'cpu'`.
   * @defaultValue ['cpu']
   */
  readonly executionProviders?: readonly unknown[];
}

const LOAD_KEYS: Readonly<Record<keyof LoadClassifierOptions, true>> = { fetch: true, engine: true, executionProviders: true };

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
  // A folder means its model.json; the handler reads the folder's last complete saved version.
  return fileLoadHandlerFor(call, 'src', src);
}

/** Reads the artifacts behind a handler or a tfjs URL (`indexeddb://`, `localstorage://`). */
async function loadArtifacts(call: string, src: string, handler: string | tf.io.IOHandler): Promise<tf.io.ModelArtifacts> {
  const resolved = typeof handler === 'string' ? tf.io.getLoadHandlers(handler)[0] : handler;
  if (resolved?.load === undefined) throw new InvalidArgumentError(call, 'src', 'a location tfjs can load from', src);
  try {
    return await resolved.load();
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: cannot load the model from ${src}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Builds a layers model from artifacts, checking every weight against the topology first; a failure frees what was
 * built and names the weight or layer. `baseLayerName` (a saved Wrapper's nested base) gets tl-kit's in-memory
 * classes back.
 */
function modelFromArtifacts(call: string, src: string, artifacts: tf.io.ModelArtifacts, restore?: { baseLayerName: string | undefined }): Promise<tfl.LayersModel> {
  return layersModelFromArtifacts(call, artifacts, {
    where: src,
    ...(restore ? { transformTopology: (topology) => restoreClasses(topology, restore.baseLayerName) as ModelTopologyJson } : {}),
  });
}

/** Where a separately stored base lives (`path` relative to the classifier's folder), for the base's loader. */
function baseLocation(call: string, src: string, path: string): string {
  if (/^https?:\/\//i.test(src)) {
    const url = /\.json(\?|$)/.test(src) ? src : `${src.replace(/\/+$/, '')}/model.json`;
    return new URL(path, url).href;
  }
  if (/^(indexeddb|localstorage):\/\//i.test(src)) {
    throw new UnsupportedError(`${call}: ${src} holds a classifier whose base is stored beside it; load it from a folder or an http(s) URL`);
  }
  const dir = /model\.json$/i.test(src) ? src.replace(/[\\/]?model\.json$/i, '') || '.' : src.replace(/[\\/]+$/, '');
  return `${dir}/${path}`;
}

/** A base stored beside the head, loaded, as a Wrapper base plus what frees it. */
async function separateBase(
  call: string,
  src: string,
  metadata: ClassifierMetadata,
  options: LoadClassifierOptions,
): Promise<{ built: BuiltBase; release: () => void; pooling: 'avg' | 'max' | 'none' }> {
  const saved = metadata.base;
  const [h, w] = metadata.inputSize;
  const remote = { cacheDir: false as const, ...(options.fetch ? { fetch: options.fetch } : {}) };
  if (saved.format === 'onnx') {
    const spec = await loadOnnxBase(baseLocation(call, src, saved.path), {
      ...remote,
      inputShape: [h, w, 3],
      layout: saved.layout,
      outputName: saved.outputName,
      preprocessing: metadata.preprocessing,
    });
    return { built: onnxBase(spec.model, [h, w, 3]), release: () => {}, pooling: saved.pooling };
  }
  if (saved.format !== 'tfjs-graph') throw new UnsupportedError(`${call}: ${src} stores its base as ${saved.format}, which this build cannot load`);
  const spec = await loadBase(baseLocation(call, src, `${saved.path}/model.json`), {
    ...remote,
    format: 'graph',
    ...(saved.outputNode ? { outputNode: saved.outputNode } : {}),
  });
  const graph = spec.model as GraphModelLike & { dispose?: () => void };
  try {
    return { built: graphBase(graph, saved.outputNode, [h, w, 3]), release: () => graph.dispose?.(), pooling: saved.pooling };
  } catch (err) {
    graph.dispose?.();
    throw err;
  }
}

/**
 * Rebuilds a classifier saved as a head `model.json` beside its base (a graph model or an ONNX file): the base under
 * the saved head, with copies of the head's layers and weights.
 */
async function separateBaseClassifier(
  call: string,
  src: string,
  artifacts: tf.io.ModelArtifacts,
  metadata: ClassifierMetadata,
  options: LoadClassifierOptions,
): Promise<{ model: tfl.LayersModel; release: () => void }> {
  const { built, release, pooling } = await separateBase(call, src, metadata, options);
  let head: tfl.LayersModel | undefined;
  try {
    head = await modelFromArtifacts(call, src, artifacts);
    const headLayers = head.layers.filter((l) => l.getClassName() !== 'InputLayer');
    const clones = headLayers.map((l) => cloneLayer(call, l));
    const model = assembleWrapper(built, pooling === 'max' ? 'max' : 'avg', () => clones, {
      baseName: metadata.baseName,
      preprocessing: metadata.preprocessing,
    });
    clones.forEach((clone, i) => {
      const values = (headLayers[i] as tfl.layers.Layer).getWeights();
      if (values.length > 0) clone.setWeights(values);
    });
    return { model, release };
  } catch (err) {
    release();
    throw err;
  } finally {
    head?.dispose();
  }
}

/**
 * Loads a classifier written by {@link saveClassifier}: a folder (Node, path or `file://` URL), an `indexeddb://` or
 * `localstorage://` key, or an `http(s)://` URL of the folder or its `model.json`. Files written by tl-kit 0.1 load
 * too. A layers-base classifier gets the Wrapper's in-memory form back (the base always in inference mode, on its
 * fused executor); one saved beside a graph-model base gets that base loaded from its `base/` folder.
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
 * await classifier.dispose();
 * ```
 *
 * @category saving
 */
export async function loadClassifier(src: string, options: LoadClassifierOptions = {}): Promise<Classifier> {
  const call = 'loadClassifier';
  if (typeof src !== 'string' || src.length === 0) {
    throw new InvalidArgumentError(call, 'src', 'a folder path, file:// URL, indexeddb:// or http(s):// URL', src);
  }
  checkOptionsObject(call, options);
  checkOptionKeys<LoadClassifierOptions>(call, options, LOAD_KEYS);
  if (options.engine !== undefined) checkOneOf(call, 'engine', options.engine, ['auto', 'tfjs', 'onnxruntime']);
  const providers = options.executionProviders;
  if (providers !== undefined && (!Array.isArray(providers) || providers.length === 0)) {
    throw new InvalidArgumentError(call, 'executionProviders', "a non-empty list of ONNX Runtime execution providers, e.g. ['cpu']", providers);
  }
  registerTlKitClasses();
  try {
    return await openClassifier(call, src, options);
  } catch (err) {
    // Helpers (file and http handlers, loadOnnxBase) name themselves; the user called loadClassifier.
    throw err instanceof TlKitError ? namedBy(call, err) : err;
  }
}

/** {@link loadClassifier} after its arguments were checked. */
async function openClassifier(call: string, src: string, options: LoadClassifierOptions): Promise<Classifier> {
  const providers = options.executionProviders;
  const handler = await resolveSource(call, src, options);
  const artifacts = await loadArtifacts(call, src, handler);
  const embedded = (artifacts.userDefinedMetadata as Record<string, unknown> | undefined)?.[METADATA_KEY];
  const metadata = parseMetadata(call, src, embedded);
  let model: tfl.LayersModel;
  let release = (): void => {};
  if (metadata.base.format === 'layers') {
    // tl-kit's in-memory classes come back: the outer model and the nested base (tl-kit 0.1 saved the latter).
    model = await modelFromArtifacts(call, src, artifacts, { baseLayerName: metadata.base.layerName });
  } else {
    ({ model, release } = await separateBaseClassifier(call, src, artifacts, metadata, options));
  }
  let runtime: FrozenRuntime | undefined;
  let view: WrapperView | undefined;
  try {
    view = describeWrapper(model);
    // The base carries what the metadata and the options say about it, for predict and for calls on classifier.model.
    const carrier = view?.base.kind === 'layers' ? view.base.inference : view?.base.kind === 'onnx' ? view.base.layer : undefined;
    if (carrier) {
      carrier.baseName = metadata.baseName;
      carrier.preprocessing = metadata.preprocessing;
      if (options.engine !== undefined) carrier.engine = options.engine;
      if (options.executionProviders !== undefined) carrier.executionProviders = options.executionProviders;
    }
    runtime = view ? await openBaseRuntime(view, { call, images: 1, ...(options.engine ? { engine: options.engine } : {}) }) : undefined;
  } catch (err) {
    model.dispose();
    release();
    throw err;
  }
  const { inputSize, resize, preprocessing, labels } = metadata;
  const size: [number, number] = [inputSize[0], inputSize[1]];
  const binary = metadata.labelMode === 'binary';
  let disposed = false;
  const probabilities = async (image: ImageSource): Promise<Float32Array | Int32Array | Uint8Array> => {
    const decoded = await decodeImage(image, { imageSize: size, resize });
    let out: tf.Tensor | undefined;
    let features: tf.Tensor2D | undefined;
    try {
      const x = tf.tidy(() => prepareImages(decoded, { imageSize: size, resize, preprocessing }));
      try {
        if (view && runtime) {
          features = await runtime.extract(x);
          const f = features;
          out = tf.tidy(() => (view as WrapperView).runHead(f, false));
        } else {
          out = tf.tidy(() => model.predict(x) as tf.Tensor);
        }
      } finally {
        x.dispose();
      }
      return await out.data();
    } finally {
      decoded.dispose();
      features?.dispose();
      out?.dispose();
    }
  };
  return {
    labelNames: labels,
    metadata,
    model,
    runtime: runtime?.info,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await runtime?.dispose();
      model.dispose();
      release();
    },
    predict: async (image: ImageSource): Promise<Prediction[]> => {
      if (disposed) throw disposedError('Classifier.predict', 'the classifier');
      const probs = await probabilities(image);
      const scored: Prediction[] = binary
        ? [
            { label: labels[1] as string, probability: probs[0] as number },
            { label: labels[0] as string, probability: 1 - (probs[0] as number) },
          ]
        : labels.map((label, i) => ({ label, probability: probs[i] as number }));
      return scored.sort((a, b) => b.probability - a.probability);
    },
  };
}
