/**
 * The metadata stored with a saved classifier: Teachable Machine's fields (`labels`, `imageSize`, `modelName`,
 * `timeStamp`, `tfjsVersion`, `packageName`, `packageVersion`), so tools that read Teachable Machine exports find the
 * class names where they look, plus tl-kit's own: everything `loadClassifier` needs to prepare images like training,
 * where the base is stored, and the test metrics.
 */
import type { LabelMode, ResizeMode } from '../data/types';
import { LoadError } from '../errors';

/** Pixel preprocessing modes that can be saved (a function cannot); internal shorthand. */
export type NamedPreprocessing = 'tf' | 'caffe' | 'torch' | 'unit' | 'none';

/**
 * Test metrics stored with a classifier (NaN is stored as null).
 *
 * @category saving
 */
export interface SavedMetrics {
  /** The split the metrics come from. */
  readonly split?: string;
  /** Number of examples evaluated (files saved by tl-kit 0.1 call it `numExamples`). */
  readonly exampleCount?: number;
  /** Mean loss. */
  readonly loss?: number | null;
  /** Accuracy. */
  readonly accuracy?: number | null;
  /** Binary only: precision of the positive class. */
  readonly precision?: number | null;
  /** Binary only: recall of the positive class. */
  readonly recall?: number | null;
  /** Binary only: F1 of the positive class. */
  readonly f1?: number | null;
  /** Binary only: ROC AUC. */
  readonly rocAuc?: number | null;
  /** Macro averages over classes. */
  readonly macro?: {
    /** Mean of the per-class precisions (null when undefined for a class). */
    readonly precision: number | null;
    /** Mean of the per-class recalls. */
    readonly recall: number | null;
    /** Mean of the per-class F1 scores. */
    readonly f1: number | null;
  };
  /** `confusionMatrix[actual][predicted]`. */
  readonly confusionMatrix?: readonly (readonly number[])[];
}

/**
 * Where and how the frozen base is stored:
 * - `'layers'`: inside `model.json`, as a nested model (named `layerName`) or as the layers before the pooling; plain
 *   `tf.loadLayersModel` loads the whole classifier;
 * - `'tfjs-graph'`: a tfjs-converter graph model in the folder `path` (`model.json` there), with the head alone in
 *   the classifier's `model.json`; plain tfjs cannot load the two as one model;
 * - `'onnx'`: an ONNX file at `path`, likewise beside the head's `model.json`.
 *
 * @category saving
 */
export type SavedBase =
  | {
      /** The base is inside `model.json`. */
      readonly format: 'layers';
      /** Name of the nested base model, when the base is one (a Wrapper's is `tlkit_base`). */
      readonly layerName?: string;
    }
  | {
      /** A tfjs-converter graph model beside the head. */
      readonly format: 'tfjs-graph';
      /** Folder of the graph's `model.json`, relative to the classifier's folder. */
      readonly path: string;
      /** Graph node used as features; the graph's first output when absent. */
      readonly outputNode?: string;
      /** Global pooling of the node's output: `'avg'`, `'max'` or `'none'`. */
      readonly pooling: 'avg' | 'max' | 'none';
    }
  | {
      /** An ONNX file beside the head. */
      readonly format: 'onnx';
      /** The ONNX file, relative to the classifier's folder. */
      readonly path: string;
      /** Graph input fed with images. */
      readonly inputName: string;
      /** Graph output used as features. */
      readonly outputName: string;
      /** Image layout of the input. */
      readonly layout: 'NCHW' | 'NHWC';
      /** Global pooling of the output: `'avg'`, `'max'` or `'none'`. */
      readonly pooling: 'avg' | 'max' | 'none';
    };

/**
 * Contents of `metadata.json` (also embedded in `model.json` as `userDefinedMetadata.tlKit`).
 *
 * @category saving
 */
export interface ClassifierMetadata {
  /** Teachable Machine's field: class names, index = class id. */
  readonly labels: readonly string[];
  /** Teachable Machine's field: side of the square input in pixels; absent when the input is not square. */
  readonly imageSize?: number;
  /** Teachable Machine's field: the classifier's name (the folder name, or the base name). */
  readonly modelName: string;
  /** Teachable Machine's field: ISO time of saving. */
  readonly timeStamp: string;
  /** Teachable Machine's field: the tfjs version that saved the model. */
  readonly tfjsVersion: string;
  /** Teachable Machine's field: the package that saved it. */
  readonly packageName: 'tl-kit';
  /** Teachable Machine's field: the tl-kit version that saved it. */
  readonly packageVersion: string;
  /** Always `'tl-kit-classifier'`. */
  readonly format: 'tl-kit-classifier';
  /** Version of this metadata layout: 2 (tl-kit 0.1 wrote 1, which `loadClassifier` still reads). */
  readonly formatVersion: 2;
  /** `[height, width]` the model takes. */
  readonly inputSize: readonly [number, number];
  /** `binary` (one sigmoid unit) or `categorical` (softmax). */
  readonly labelMode: LabelMode;
  /** Pixel preprocessing applied after resizing (a named mode: a function cannot be saved). */
  readonly preprocessing: 'tf' | 'caffe' | 'torch' | 'unit' | 'none';
  /** How images are brought to `inputSize`. */
  readonly resize: ResizeMode;
  /** Name of the base, when known. */
  readonly baseName?: string;
  /** Where the frozen base is stored. */
  readonly base: SavedBase;
  /** Test metrics, when given to `saveClassifier`. */
  readonly metrics?: SavedMetrics;
}

/** Key under which the metadata is embedded in a model's `userDefinedMetadata`. */
export const METADATA_KEY = 'tlKit';

const PREPROCESSING = ['tf', 'caffe', 'torch', 'unit', 'none'];
const RESIZE = ['stretch', 'center-crop', 'pad'];

function isSize(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d > 0 && d <= 65535);
}

function isLabels(v: unknown): v is string[] {
  return Array.isArray(v) && v.length >= 2 && v.every((l) => typeof l === 'string');
}

/** What is wrong with the fields both layouts share, or undefined. */
function commonProblem(m: Record<string, unknown>): string | undefined {
  if (m['labelMode'] !== 'binary' && m['labelMode'] !== 'categorical') return `labelMode is ${JSON.stringify(m['labelMode'])}`;
  if (!PREPROCESSING.includes(m['preprocessing'] as string)) return `preprocessing is ${JSON.stringify(m['preprocessing'])}`;
  if (!RESIZE.includes(m['resize'] as string)) return `resize is ${JSON.stringify(m['resize'])}`;
  if (m['baseName'] !== undefined && typeof m['baseName'] !== 'string') return `baseName is ${JSON.stringify(m['baseName'])}`;
  return undefined;
}

function baseProblem(base: unknown): string | undefined {
  const b = base as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null) return 'base is missing';
  const safePath = (p: unknown): boolean =>
    typeof p === 'string' && p.length > 0 && !p.startsWith('/') && !p.includes('\\') && !p.split('/').includes('..') && !/^[a-z]+:/i.test(p);
  const pooling = ['avg', 'max', 'none'];
  switch (b['format']) {
    case 'layers':
      return b['layerName'] === undefined || typeof b['layerName'] === 'string' ? undefined : 'base.layerName is not a string';
    case 'tfjs-graph':
      if (!safePath(b['path'])) return `base.path ${JSON.stringify(b['path'])} is not a relative path inside the folder`;
      return pooling.includes(b['pooling'] as string) ? undefined : `base.pooling is ${JSON.stringify(b['pooling'])}`;
    case 'onnx':
      if (!safePath(b['path'])) return `base.path ${JSON.stringify(b['path'])} is not a relative path inside the folder`;
      if (typeof b['inputName'] !== 'string' || typeof b['outputName'] !== 'string') return 'base.inputName / outputName are missing';
      if (b['layout'] !== 'NCHW' && b['layout'] !== 'NHWC') return `base.layout is ${JSON.stringify(b['layout'])}`;
      return pooling.includes(b['pooling'] as string) ? undefined : `base.pooling is ${JSON.stringify(b['pooling'])}`;
    default:
      return `base.format is ${JSON.stringify(b['format'])}`;
  }
}

/**
 * Checks parsed JSON and returns it as metadata of the current layout: version 2 as it is, version 1 (tl-kit 0.1:
 * `labelNames`, `imageSize: [h, w]`, `tlKitVersion`, `savedAt`) translated field by field.
 *
 * @throws LoadError naming what is wrong.
 */
export function parseMetadata(call: string, where: string, value: unknown): ClassifierMetadata {
  const fail = (problem: string): never => {
    throw new LoadError(`${call}: ${where} is not a tl-kit classifier (${problem}); save it with saveClassifier`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('no tl-kit metadata');
  const m = value as Record<string, unknown>;
  if (m['format'] !== 'tl-kit-classifier') return fail(`format is ${JSON.stringify(m['format'])}, not "tl-kit-classifier"`);
  if (m['formatVersion'] === 1) {
    if (!isLabels(m['labelNames'])) return fail('labelNames is not a list of at least 2 names');
    if (!isSize(m['imageSize'])) return fail(`imageSize is ${JSON.stringify(m['imageSize'])}`);
    const problem = commonProblem(m);
    if (problem) return fail(problem);
    const [h, w] = m['imageSize'];
    const metrics = m['metrics'] as (SavedMetrics & { numExamples?: number }) | undefined;
    const { numExamples, ...rest } = metrics ?? {};
    return {
      labels: m['labelNames'],
      ...(h === w ? { imageSize: h } : {}),
      modelName: typeof m['baseName'] === 'string' ? m['baseName'] : 'classifier',
      timeStamp: typeof m['savedAt'] === 'string' ? m['savedAt'] : '',
      tfjsVersion: '',
      packageName: 'tl-kit',
      packageVersion: typeof m['tlKitVersion'] === 'string' ? m['tlKitVersion'] : '0.1.0',
      format: 'tl-kit-classifier',
      formatVersion: 2,
      inputSize: [h, w],
      labelMode: m['labelMode'] as LabelMode,
      preprocessing: m['preprocessing'] as NamedPreprocessing,
      resize: m['resize'] as ResizeMode,
      ...(typeof m['baseName'] === 'string' ? { baseName: m['baseName'] } : {}),
      base: { format: 'layers' },
      ...(metrics ? { metrics: { ...rest, ...(numExamples !== undefined ? { exampleCount: numExamples } : {}) } } : {}),
    };
  }
  if (m['formatVersion'] !== 2) return fail(`formatVersion is ${JSON.stringify(m['formatVersion'])}; this tl-kit reads 1 and 2`);
  if (!isLabels(m['labels'])) return fail('labels is not a list of at least 2 names');
  if (!isSize(m['inputSize'])) return fail(`inputSize is ${JSON.stringify(m['inputSize'])}`);
  const problem = commonProblem(m) ?? baseProblem(m['base']);
  if (problem) return fail(problem);
  return m as unknown as ClassifierMetadata;
}
