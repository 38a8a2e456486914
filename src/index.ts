/**
 * tl-kit: transfer learning on TensorFlow.js. Load an image dataset, freeze a pretrained base, train a new head,
 * and measure what it learned.
 *
 * @packageDocumentation
 */

// Version and errors
export { VERSION } from './version';
export {
  TlKitError,
  InvalidArgumentError,
  DatasetError,
  DecodeError,
  IncompatibleModelError,
  LoadError,
  UnsafeModelError,
  TrainingError,
  UnsupportedError,
} from './errors';
export type { TlKitErrorCode } from './errors';
export type { Progress } from './progress';

// Data: datasets, splits, decoding and preprocessing
export { DataLoader } from './data/data-loader';
export type {
  DataLoaderOptions,
  RawImage,
  RawImagesOptions,
  SkippedFile,
  SplitSlices,
} from './data/loader-types';
export { decodeImage } from './data/decode';
export type { DecodeImageOptions } from './data/decode';
export { prepareImages } from './data/prepare';
export type { PrepareImagesOptions } from './data/prepare';
export type { ImageSource, PixelData, Sample } from './data/sources';
export type {
  Batch,
  ImageBatchSource,
  LabelMode,
  PreprocessingMode,
  ResizeMode,
  SplitCounts,
  SplitName,
} from './data/types';

// Bases and the Wrapper
export { Wrapper } from './models/wrapper';
export type { WrapperOptions } from './models/wrapper';
export { unfreeze } from './models/unfreeze';
export type { UnfreezeOptions } from './models/unfreeze';
export type { BaseSpec, GraphModelLike } from './models/base-spec';
export type { BaseRuntimeInfo, EngineChoice } from './runtime/types';
export { loadBase } from './models/load-base';
export { loadOnnxBase } from './models/load-onnx-base';
export type { LoadOnnxBaseOptions } from './models/load-onnx-base';
export type { OnnxBaseModel } from './runtime/onnx/base-model';
export { OnnxConversionError } from './runtime/onnx/errors';
export type { GraphModelLoader, LoadBaseOptions } from './models/load-base';
export { KNOWN_BASES } from './models/registry';
export type { KnownBase } from './models/registry';

// Model files: IOHandlers for plain tfjs in Node (file folders, HTTP with a download cache)
export * as io from './io/public';

// Keras: applications with Keras's weights, .keras / .h5 files
export { applications } from './applications/index';
export type { ApplicationBuilder, ApplicationName } from './applications/index';
export type { ApplicationOptions, ApplicationWeights } from './applications/common';
export type { MobileNetV2Options } from './applications/mobilenet-v2';
export type { VGG16Options } from './applications/vgg16';
export type { InceptionV3Options } from './applications/inception-v3';
export type { ResNetV2Options } from './applications/resnet-v2';
export { loadKerasModel } from './keras/load-model';
export type { LoadKerasModelOptions } from './keras/load-model';
export { loadKerasWeights } from './keras/load-weights';
export type { LoadKerasWeightsOptions, KerasWeightMatch } from './keras/load-weights';
export type { KerasFileSource, KerasReadOptions } from './keras/source';

// Pipeline: baseline, fit, evaluate, compare, fine-tune
export { evaluate, evaluateBaseline } from './pipeline/evaluate';
export type {
  BaselineResult,
  EvaluateBaselineOptions,
  EvaluateOptions,
  EvaluationResult,
  MacroAverages,
} from './pipeline/evaluate';
export type { ClassMetrics } from './pipeline/metrics';
export { fit } from './pipeline/fit';
export type { FitOptions } from './pipeline/training';
export { compareBases } from './pipeline/compare';
export type { BaseComparison, BaseEntry, CompareBasesOptions } from './pipeline/compare';
export { fineTune } from './pipeline/fine-tune';
export type { FineTuneOptions } from './pipeline/fine-tune';
export { earlyStopping } from './pipeline/callbacks';
export type {
  EarlyStoppingOptions,
  ExtractionProgress,
  FitHistory,
  TrainingCallback,
  TrainingLogs,
  TrainingParams,
} from './pipeline/callbacks';
export { progressBar } from './pipeline/progress-bar';
export type { ProgressBarOptions, ProgressStream } from './pipeline/progress-bar';

// Reports and saved classifiers
export { writeReport } from './report/write-report';
export type { HistoryLike, ReportContent, ReportFiles, ReportSample, WriteReportOptions } from './report/write-report';
export { saveClassifier } from './classifier/save';
export type { ClassifierDataInfo, SaveClassifierOptions } from './classifier/save';
export { loadClassifier } from './classifier/load';
export type { Classifier, LoadClassifierOptions, Prediction } from './classifier/load';
export type { ClassifierMetadata, SavedBase, SavedMetrics } from './classifier/metadata';

