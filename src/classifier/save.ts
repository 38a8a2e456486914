/**
 * `saveClassifier`: a trained model plus the metadata that makes it usable on its own (labels, image size,
 * preprocessing, resize mode, base, version, test metrics).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource } from '../data/types';
import { InvalidArgumentError, LoadError, TlKitError, UnsupportedError } from '../errors';
import { checkOneOf, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { checkResize } from '../data/prepare';
import type { FolderFile } from '../io/atomic';
import { artifactsToFiles, fileSaveHandler } from '../io/file-handler';
import { resolveTimeout } from '../io/fetch';
import { standaloneHead } from '../models/clone-layer';
import { checkNotDisposed, describeWrapper, type WrapperView } from '../models/wrapper-view';
import { checkModelFitsData } from '../pipeline/compile';
import type { EvaluationResult } from '../pipeline/evaluate';
import { VERSION } from '../version';
import { METADATA_KEY, type ClassifierMetadata, type NamedPreprocessing, type SavedBase, type SavedMetrics } from './metadata';

/**
 * What `saveClassifier` reads from the dataset (a `DataLoader` has it all).
 *
 * @category saving
 */
export type ClassifierDataInfo = Pick<ImageBatchSource, 'labelNames' | 'labelMode' | 'imageSize' | 'preprocessing' | 'resize'>;

/**
 * Options of {@link saveClassifier}.
 *
 * @category saving
 */
export interface SaveClassifierOptions {
  /**
   * Test metrics to store, e.g. the result of `evaluate`.
   * @defaultValue none
   */
  readonly metrics?: EvaluationResult;
  /**
   * Name of the base, stored for reference.
   * @defaultValue the name of the `loadBase` spec the model was wrapped from, else none
   */
  readonly baseName?: string;
  /**
   * For `http(s)://` destinations: longest wait, in milliseconds, for the server to take the upload and answer. A
   * server that does not answer fails the save with a `LoadError` after this long.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number;
}

const SAVE_KEYS: Readonly<Record<keyof SaveClassifierOptions, true>> = { metrics: true, baseName: true, timeoutMs: true };

const NAMED: readonly NamedPreprocessing[] = ['tf', 'caffe', 'torch', 'unit', 'none'];

/** JSON-safe number: NaN and infinities become null. */
function num(v: number | undefined): number | null | undefined {
  return v === undefined ? undefined : Number.isFinite(v) ? v : null;
}

function toSavedMetrics(m: EvaluationResult): SavedMetrics {
  return {
    split: m.split,
    exampleCount: m.exampleCount,
    loss: num(m.loss),
    accuracy: num(m.accuracy),
    precision: num(m.precision),
    recall: num(m.recall),
    f1: num(m.f1),
    rocAuc: num(m.rocAuc),
    macro: { precision: num(m.macro.precision) ?? null, recall: num(m.macro.recall) ?? null, f1: num(m.macro.f1) ?? null },
    confusionMatrix: m.confusionMatrix.map((row) => row.slice()),
  };
}

/** Whether `dest` goes through tfjs's URL router (browser storage or an HTTP upload) rather than the file system. */
function isTfjsUrl(dest: string): boolean {
  return /^(indexeddb|localstorage|downloads|https?):\/\//i.test(dest);
}

/** The classifier's name for Teachable Machine's `modelName`: the destination's last path segment. */
function modelNameOf(dest: string): string {
  const name = dest.replace(/[\\/]+$/, '').split(/[\\/]|:\/\//).pop();
  return name === undefined || name === '' ? 'classifier' : name;
}

/** How the base of `view` is stored (see {@link SavedBase}). */
function savedBaseOf(view: WrapperView | undefined): SavedBase {
  if (view?.base.kind === 'onnx') {
    const { inputName, outputName, layout } = view.base.onnx;
    return { format: 'onnx', path: 'base.onnx', inputName, outputName, layout, pooling: view.pooling };
  }
  if (view?.base.kind === 'graph') {
    return { format: 'tfjs-graph', path: 'base', ...(view.base.outputNode ? { outputNode: view.base.outputNode } : {}), pooling: view.pooling };
  }
  const nested = view?.base.kind === 'layers' && view.model.layers.includes(view.base.container);
  return nested ? { format: 'layers', layerName: view.base.container.name } : { format: 'layers' };
}

/**
 * Saves a trained classifier with its metadata. In Node, `dest` is a folder (path or `file://` URL) that receives
 * `model.json`, `weights.bin` and `metadata.json`, the three files of a Teachable Machine export, written atomically
 * (all three in a temporary folder renamed into place), so an interrupted save never leaves a half-written model. In
 * a browser, `dest` is an `indexeddb://`, `localstorage://`, `downloads://` or `http(s)://` URL handled by tfjs. The
 * metadata is also embedded in `model.json` (`userDefinedMetadata.tlKit`), which is what {@link loadClassifier} reads.
 *
 * `model.json` holds only tfjs-layers' built-in layers (tl-kit's in-memory classes are saved under tfjs's names), so
 * a plain TF.js app loads it with `tf.loadLayersModel` and the tfjs converter turns it into a Keras file
 * (`tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras model.json classifier.h5`). A
 * classifier on a base that is not a layers model is saved in Node as the head's standard `model.json`, the base
 * beside it (a tfjs-converter graph model in `base/`, an ONNX model as `base.onnx`) and `metadata.json`: only
 * `loadClassifier` joins them again.
 *
 * @param model - the trained classifier (a Wrapper model, one loaded with `loadClassifier`, or any classifier).
 * @param data - the dataset it was trained on (labels, image size, preprocessing and resize mode are read from it).
 * @param dest - where to save.
 * @param options - metrics and base name; see {@link SaveClassifierOptions}.
 * @returns the metadata written.
 * @throws {@link InvalidArgumentError} for a bad argument, or when `data.preprocessing` is a function (which cannot
 *   be saved: use a named mode).
 * @throws {@link IncompatibleModelError} when the model's output or input size does not match `data`'s classes,
 *   label mode or image size.
 * @throws {@link LoadError} when writing fails (the cause is kept).
 * @throws {@link UnsupportedError} for a graph-model or ONNX base outside a Node folder, or a graph model that cannot
 *   save itself.
 * @throws a `TlKitError` with code `DISPOSED` for a disposed model.
 * @example
 * ```ts
 * const result = await evaluate(model, data);
 * await saveClassifier(model, data, './out/flowers', { metrics: result, baseName: 'MobileNetV2' });
 * ```
 *
 * @category saving
 */
export async function saveClassifier(
  model: tfl.LayersModel,
  data: ClassifierDataInfo,
  dest: string,
  options: SaveClassifierOptions = {},
): Promise<ClassifierMetadata> {
  const call = 'saveClassifier';
  if (!(model instanceof tfl.LayersModel)) throw new InvalidArgumentError(call, 'model', 'a tf.LayersModel', model);
  if (typeof data !== 'object' || data === null || !Array.isArray(data.labelNames)) {
    throw new InvalidArgumentError(call, 'data', 'a DataLoader or an object with labelNames, labelMode, imageSize, preprocessing and resize', data);
  }
  if (typeof dest !== 'string' || dest.length === 0) {
    throw new InvalidArgumentError(call, 'dest', 'a folder path, file:// URL, indexeddb:// or http(s):// URL', dest);
  }
  checkOptionsObject(call, options);
  checkOptionKeys<SaveClassifierOptions>(call, options, SAVE_KEYS);
  if (typeof data.preprocessing === 'function' || !NAMED.includes(data.preprocessing as NamedPreprocessing)) {
    throw new InvalidArgumentError(
      call,
      'data.preprocessing',
      "a named mode ('tf', 'caffe', 'torch', 'unit' or 'none'); a preprocessing function cannot be saved",
      data.preprocessing,
    );
  }
  checkOneOf(call, 'data.labelMode', data.labelMode, ['binary', 'categorical']);
  const size: unknown = data.imageSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidArgumentError(call, 'data.imageSize', '[height, width] of positive integers', size);
  }
  checkResize(call, data.resize);
  checkNotDisposed(call, model);
  // A head that does not match the labels would load fine and predict nonsense: refuse it now.
  checkModelFitsData(call, model, data as ImageBatchSource);
  const m = options.metrics as Partial<EvaluationResult> | undefined | null;
  if (
    m !== undefined &&
    (typeof m !== 'object' || m === null || typeof m.macro !== 'object' || m.macro === null || !Array.isArray(m.confusionMatrix))
  ) {
    throw new InvalidArgumentError(call, 'metrics', 'the result of evaluate()', m);
  }
  if (options.baseName !== undefined && typeof options.baseName !== 'string') {
    throw new InvalidArgumentError(call, 'baseName', 'a string', options.baseName);
  }
  const timeoutMs = resolveTimeout(call, options.timeoutMs);
  const view = describeWrapper(model);
  const baseName = options.baseName ?? view?.baseName;
  const [h, w] = [data.imageSize[0], data.imageSize[1]];
  const draft: ClassifierMetadata = {
    labels: data.labelNames.slice(),
    ...(h === w ? { imageSize: h } : {}),
    modelName: modelNameOf(dest),
    timeStamp: new Date().toISOString(),
    tfjsVersion: tf.version_core,
    packageName: 'tl-kit',
    packageVersion: VERSION,
    format: 'tl-kit-classifier',
    formatVersion: 2,
    inputSize: [h, w],
    labelMode: data.labelMode,
    preprocessing: data.preprocessing as NamedPreprocessing,
    resize: data.resize,
    ...(baseName !== undefined ? { baseName } : {}),
    base: savedBaseOf(view),
    ...(options.metrics !== undefined ? { metrics: toSavedMetrics(options.metrics) } : {}),
  };
  // Plain JSON (no undefined fields): tfjs checks userDefinedMetadata is a JSON object.
  const metadata = JSON.parse(JSON.stringify(draft)) as ClassifierMetadata;
  const metadataFile: FolderFile = { name: 'metadata.json', data: `${JSON.stringify(metadata, null, 2)}\n` };
  const node = !isTfjsUrl(dest);
  try {
    if (metadata.base.format === 'layers') {
      await saveWithMetadata(model, metadata, node ? fileSaveHandler(dest, { extraFiles: [metadataFile] }) : urlSaveHandler(dest, timeoutMs));
    } else {
      if (!node) {
        throw new UnsupportedError(
          `${call}: a classifier on a ${metadata.base.format === 'onnx' ? 'ONNX' : 'graph-model'} base is saved to a folder in Node (head model.json, the base beside it and metadata.json); ${dest} is not one`,
        );
      }
      const baseFiles = await separateBaseFiles(call, view as WrapperView);
      const head = standaloneHead(call, view as WrapperView);
      try {
        await saveWithMetadata(head, metadata, fileSaveHandler(dest, { extraFiles: [metadataFile, ...baseFiles] }));
      } finally {
        head.dispose();
      }
    }
  } catch (err) {
    if (err instanceof UnsupportedError) throw err.message.startsWith(call) ? err : new UnsupportedError(`${call}: ${err.message}`, { cause: err });
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: cannot save the classifier to ${dest}: ${(err as Error).message}`, { cause: err });
  }
  return metadata;
}

/**
 * tfjs's save handler for a URL destination; an http(s) upload gets a fetch that gives up after `timeoutMs` (tfjs's
 * own waits forever for a server that does not answer).
 */
function urlSaveHandler(dest: string, timeoutMs: number): string | tf.io.IOHandler {
  if (!/^https?:\/\//i.test(dest)) return dest;
  const fetchFunc = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
      const timedOut = (err as { name?: unknown } | null)?.name === 'TimeoutError';
      throw timedOut ? new LoadError(`saveClassifier: ${dest} did not answer within ${timeoutMs} ms (timeoutMs)`, { cause: err }) : err;
    });
  return tf.io.http(dest, { fetchFunc });
}

/**
 * Saves `model` with `metadata` embedded in the saved `userDefinedMetadata` (next to what the model already carries).
 * The model itself is not changed: the metadata is added to the artifacts on their way to the handler.
 */
async function saveWithMetadata(model: tfl.LayersModel, metadata: ClassifierMetadata, destination: string | tf.io.IOHandler): Promise<void> {
  const handler = typeof destination === 'string' ? tf.io.getSaveHandlers(destination)[0] : destination;
  if (handler?.save === undefined) {
    throw new InvalidArgumentError('saveClassifier', 'dest', 'a destination tfjs can save to', destination);
  }
  const target = handler;
  await model.save({
    save: (artifacts) =>
      (target.save as (a: tf.io.ModelArtifacts) => Promise<tf.io.SaveResult>)({
        ...artifacts,
        userDefinedMetadata: { ...(artifacts.userDefinedMetadata ?? {}), [METADATA_KEY]: metadata },
      }),
  });
}

/**
 * The files of a base stored beside the head: `base.onnx` for an ONNX base, `base/model.json` and `base/weights.bin`
 * for a graph model (from the graph's own `save`).
 */
async function separateBaseFiles(call: string, view: WrapperView): Promise<FolderFile[]> {
  if (view.base.kind === 'onnx') return [{ name: 'base.onnx', data: view.base.onnx.bytes }];
  if (view.base.kind !== 'graph') return [];
  const graph = view.base.graph as { save?: (handler: tf.io.IOHandler) => Promise<unknown> };
  if (typeof graph.save !== 'function') {
    throw new UnsupportedError(`${call}: the graph-model base has no save method (a tfjs-converter GraphModel has one), so it cannot be stored with the classifier`);
  }
  let artifacts: tf.io.ModelArtifacts | undefined;
  await graph.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts === undefined) throw new UnsupportedError(`${call}: the graph-model base saved nothing`);
  return artifactsToFiles(artifacts, 'base/');
}
