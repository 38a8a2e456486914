/** The metadata stored with a saved classifier: everything `loadClassifier` needs to prepare images like training. */
import type { LabelMode, ResizeMode } from '../data/types';
import { LoadError } from '../errors';

/** Pixel preprocessing modes that can be saved (a function cannot). */
export type NamedPreprocessing = 'tf' | 'caffe' | 'torch' | 'unit' | 'none';

/** Test metrics stored with a classifier (NaN is stored as null). */
export interface SavedMetrics {
  /** The split the metrics come from. */
  readonly split?: string;
  /** Number of examples evaluated. */
  readonly numExamples?: number;
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

/** Contents of `metadata.json` (also embedded in `model.json` as `userDefinedMetadata.tlKit`). */
export interface ClassifierMetadata {
  /** Always `'tl-kit-classifier'`. */
  readonly format: 'tl-kit-classifier';
  /** Version of this metadata layout. */
  readonly formatVersion: 1;
  /** The tl-kit version that saved it. */
  readonly tlKitVersion: string;
  /** Class names, index = class id. */
  readonly labelNames: readonly string[];
  /** `binary` (one sigmoid unit) or `categorical` (softmax). */
  readonly labelMode: LabelMode;
  /** `[height, width]` the model takes. */
  readonly imageSize: readonly [number, number];
  /** Pixel preprocessing applied after resizing. */
  readonly preprocessing: NamedPreprocessing;
  /** How images are brought to `imageSize`. */
  readonly resize: ResizeMode;
  /** Name of the base, when known. */
  readonly baseName?: string;
  /** Test metrics, when given to `saveClassifier`. */
  readonly metrics?: SavedMetrics;
  /** ISO time of saving. */
  readonly savedAt: string;
}

/** Key under which the metadata is embedded in a model's `userDefinedMetadata`. */
export const METADATA_KEY = 'tlKit';

/** Checks that parsed JSON is classifier metadata, naming what is wrong. */
export function parseMetadata(call: string, where: string, value: unknown): ClassifierMetadata {
  const m = value as Partial<ClassifierMetadata> | undefined;
  const problem =
    typeof m !== 'object' || m === null
      ? 'no tl-kit metadata'
      : m.format !== 'tl-kit-classifier'
        ? `format is ${JSON.stringify(m.format)}, not "tl-kit-classifier"`
        : !Array.isArray(m.labelNames) || m.labelNames.length < 2 || !m.labelNames.every((l) => typeof l === 'string')
          ? 'labelNames is not a list of at least 2 names'
          : m.labelMode !== 'binary' && m.labelMode !== 'categorical'
            ? `labelMode is ${JSON.stringify(m.labelMode)}`
            : !Array.isArray(m.imageSize) || m.imageSize.length !== 2 || !m.imageSize.every((d) => Number.isInteger(d) && d > 0)
              ? `imageSize is ${JSON.stringify(m.imageSize)}`
              : !['tf', 'caffe', 'torch', 'unit', 'none'].includes(m.preprocessing as string)
                ? `preprocessing is ${JSON.stringify(m.preprocessing)}`
                : !['stretch', 'center-crop', 'pad'].includes(m.resize as string)
                  ? `resize is ${JSON.stringify(m.resize)}`
                  : undefined;
  if (problem !== undefined) {
    throw new LoadError(`${call}: ${where} is not a tl-kit classifier (${problem}); save it with saveClassifier`);
  }
  return m as ClassifierMetadata;
}
