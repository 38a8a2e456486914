/**
 * `saveClassifier`: a trained model plus the metadata that makes it usable on its own (labels, image size,
 * preprocessing, resize mode, base, version, test metrics).
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource } from '../data/types';
import { InvalidArgumentError, LoadError, TlKitError, UnsupportedError } from '../errors';
import { checkOneOf, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { checkResize } from '../data/prepare';
import { fileSaveHandler } from '../io/file-handler';
import { getWrapperParts } from '../models/parts';
import { checkModelFitsData } from '../pipeline/compile';
import type { EvaluationResult } from '../pipeline/evaluate';
import { VERSION } from '../version';
import { METADATA_KEY, type ClassifierMetadata, type NamedPreprocessing, type SavedMetrics } from './metadata';

/** What `saveClassifier` reads from the dataset (a `DataLoader` has it all). */
export type ClassifierDataInfo = Pick<ImageBatchSource, 'labelNames' | 'labelMode' | 'imageSize' | 'preprocessing' | 'resize'>;

/** Options of {@link saveClassifier}. */
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
}

const SAVE_KEYS: Readonly<Record<keyof SaveClassifierOptions, true>> = { metrics: true, baseName: true };

const NAMED: readonly NamedPreprocessing[] = ['tf', 'caffe', 'torch', 'unit', 'none'];

/** JSON-safe number: NaN and infinities become null. */
function num(v: number | undefined): number | null | undefined {
  return v === undefined ? undefined : Number.isFinite(v) ? v : null;
}

function toSavedMetrics(m: EvaluationResult): SavedMetrics {
  return {
    split: m.split,
    numExamples: m.numExamples,
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

/**
 * Saves a trained classifier with its metadata. In Node, `dest` is a folder (path or `file://` URL) that receives
 * `model.json`, `weights.bin` and `metadata.json`; the model is written atomically (a temporary folder renamed into
 * place), so an interrupted save never leaves a half-written model. In a browser, `dest` is an `indexeddb://`,
 * `localstorage://`, `downloads://` or `http(s)://` URL handled by tfjs. The metadata is also embedded in
 * `model.json` (`userDefinedMetadata.tlKit`), which is what {@link loadClassifier} reads.
 *
 * @param model - the trained classifier.
 * @param data - the dataset it was trained on (labels, image size, preprocessing and resize mode are read from it).
 * @param dest - where to save.
 * @param options - metrics and base name; see {@link SaveClassifierOptions}.
 * @returns the metadata written.
 * @throws {@link InvalidArgumentError} for a bad argument, or when `data.preprocessing` is a function (which cannot
 *   be saved: use a named mode).
 * @throws {@link IncompatibleModelError} when the model's output or input size does not match `data`'s classes,
 *   label mode or image size.
 * @throws {@link LoadError} when writing fails (the cause is kept).
 * @throws {@link UnsupportedError} for a model that cannot be serialised as a whole (a Wrapper over a GraphModel base).
 * @example
 * ```ts
 * const result = await evaluate(model, data);
 * await saveClassifier(model, data, './out/flowers', { metrics: result, baseName: 'MobileNetV2' });
 * ```
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
  const baseName = options.baseName ?? getWrapperParts(model)?.baseName;
  const draft: ClassifierMetadata = {
    format: 'tl-kit-classifier',
    formatVersion: 1,
    tlKitVersion: VERSION,
    labelNames: data.labelNames.slice(),
    labelMode: data.labelMode,
    imageSize: [data.imageSize[0], data.imageSize[1]],
    preprocessing: data.preprocessing as NamedPreprocessing,
    resize: data.resize,
    ...(baseName !== undefined ? { baseName } : {}),
    ...(options.metrics !== undefined ? { metrics: toSavedMetrics(options.metrics) } : {}),
    savedAt: new Date().toISOString(),
  };
  // Plain JSON (no undefined fields): tfjs checks userDefinedMetadata is a JSON object.
  const metadata = JSON.parse(JSON.stringify(draft)) as ClassifierMetadata;
  const holder = model as unknown as { userDefinedMetadata?: Record<string, unknown> };
  const previous = holder.userDefinedMetadata;
  const node = !isTfjsUrl(dest);
  try {
    model.setUserDefinedMetadata({ ...(previous ?? {}), [METADATA_KEY]: metadata });
    // metadata.json goes into the same atomic version as the model: a reader never sees one without the other.
    const extraFiles = [{ name: 'metadata.json', data: `${JSON.stringify(metadata, null, 2)}\n` }];
    const handler: string | tf.io.IOHandler = node ? fileSaveHandler(dest, { extraFiles }) : dest;
    await model.save(handler);
  } catch (err) {
    if (err instanceof UnsupportedError) {
      throw new UnsupportedError(`${call}: ${err.message}`, { cause: err });
    }
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: cannot save the classifier to ${dest}: ${(err as Error).message}`, { cause: err });
  } finally {
    holder.userDefinedMetadata = previous;
  }
  return metadata;
}
