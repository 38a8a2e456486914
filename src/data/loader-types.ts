/**
 * Public types of {@link DataLoader}: its options, progress events, skipped files and raw images.
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Progress } from '../progress';
import type { LabelMode, PreprocessingMode, ResizeMode, SplitName } from './types';

/**
 * A file (or sample) that is in no split because it is not a usable image, with the reason.
 *
 * @example
 * ```ts
 * for (const { path, reason } of data.skipped) console.log(`${path}: ${reason}`);
 * ```
 *
 * @category data
 */
export interface SkippedFile {
  /** Path relative to the root (`/`-separated) for folders, the sample id otherwise. */
  readonly path: string;
  /** Why it was skipped, e.g. `'empty file (0 bytes)'`, `'symlink loop'`, `'corrupt or unsupported image: ...'`. */
  readonly reason: string;
}

/**
 * Options of {@link DataLoader.getRandomRawImages}.
 *
 * @example
 * ```ts
 * const test = await data.getRandomRawImages(16, { split: 'test' });
 * ```
 *
 * @category data
 */
export interface RawImagesOptions {
  /**
   * Draw from one split only (`'test'` to show a trained model's predictions).
   * @defaultValue every split
   */
  readonly split?: SplitName;
}

/**
 * An image at its original size, for looking at the data.
 *
 * @example
 * ```ts
 * const [first] = await data.getRandomRawImages(1);
 * console.log(first.labelName, first.image.shape);
 * first.image.dispose();
 * ```
 *
 * @category data
 */
export interface RawImage {
  /** 8-bit RGB pixels `[height, width, 3]`, dtype int32 with values 0..255. Owned by the caller: dispose it. */
  readonly image: tf.Tensor3D;
  /** Class index. */
  readonly label: number;
  /** Class name. */
  readonly labelName: string;
  /** Sample id (relative path for folders). */
  readonly id: string;
}

/**
 * Progress of a folder scan, in tl-kit's one progress shape: `phase` `'list'` while walking folders (`total`
 * unknown), `'validate'` while checking files; `done` and `total` count files. Internal shorthand.
 */
export type DataLoaderProgress = Progress<'list' | 'validate'>;


/**
 * tfds-style slices of the seeded permutation; together they must cover every sample exactly once.
 *
 * @example
 * ```ts
 * await DataLoader.fromDirectory('photos', { splits: { train: '[:80%]', validation: '[80%:90%]', test: '[90%:]' } });
 * ```
 *
 * @category data
 */
export interface SplitSlices {
  /** Slice for the training split. */
  readonly train: string;
  /** Slice for the validation split. */
  readonly validation: string;
  /** Slice for the test split. */
  readonly test: string;
}

/**
 * Options of {@link DataLoader.fromDirectory}, {@link DataLoader.fromSamples} and {@link DataLoader.fromTensors}.
 *
 * @example
 * ```ts
 * const options: DataLoaderOptions = { imageSize: [224, 224], batchSize: 16, preprocessing: 'caffe', resize: 'center-crop' };
 * const data = await DataLoader.fromDirectory('photos', options);
 * ```
 *
 * @category data
 */
export interface DataLoaderOptions {
  /**
   * Size of every image in a batch: one number (square) or `[height, width]`.
   * @defaultValue 160
   */
  readonly imageSize?: number | readonly [number, number];
  /**
   * Images per batch (the last batch of a split may be smaller).
   * @defaultValue 32
   */
  readonly batchSize?: number;
  /**
   * Relative sizes of train / validation / test; positive finite numbers. Ignored when `splits` is given.
   * @defaultValue [8, 1, 1]
   */
  readonly splitWeights?: readonly [number, number, number];
  /**
   * tfds-style slices of the seeded permutation instead of weights; they must cover every sample exactly once.
   * @defaultValue undefined (use `splitWeights`)
   */
  readonly splits?: SplitSlices;
  /**
   * `'random'`: exact sizes from a seeded permutation; `'stable'`: a seeded hash of each sample id, so adding files
   * never moves existing ones (sizes only approximately follow the weights).
   * @defaultValue 'random'
   */
  readonly splitMethod?: 'random' | 'stable';
  /**
   * Cut each class by the weights separately (per-class counts are the floor or ceiling of the exact share).
   * Applies to `splitMethod: 'random'` with `splitWeights`.
   * @defaultValue true
   */
  readonly stratify?: boolean;
  /**
   * Seed of the split and of the per-epoch shuffles.
   * @defaultValue 42
   */
  readonly seed?: number;
  /**
   * Size of the shuffle buffer of the training batches, with tf.data's `shuffle(bufferSize)` semantics: each epoch the
   * training split (in file order) streams through a buffer of this many examples, and each step takes a seeded
   * random example out of it. A buffer of 1 keeps file order; a buffer smaller than the split only mixes nearby
   * files (class folders are listed one after the other, so a small buffer gives batches of one class). It only
   * orders training batches: splits never depend on it.
   * @defaultValue the size of the training split (a full seeded permutation every epoch)
   */
  readonly shuffleBufferSize?: number;
  /**
   * Pixel scaling of the batches.
   * @defaultValue 'tf'
   */
  readonly preprocessing?: PreprocessingMode;
  /**
   * How images are brought to `imageSize`.
   * @defaultValue 'stretch'
   */
  readonly resize?: ResizeMode;
  /**
   * Target encoding; `'binary'` needs exactly two classes.
   * @defaultValue 'binary' for two classes, 'categorical' otherwise
   */
  readonly labelMode?: LabelMode;
  /**
   * Class names, index = class id. `fromDirectory`: the class folder names in the order you want (like Keras's
   * `class_names`; every folder, nothing else). `fromSamples` / `fromTensors`: with string labels it fixes the order;
   * with numeric labels it names them.
   * @defaultValue sorted folder names or string labels, or `'0'`, `'1'`, ... for numeric labels
   */
  readonly labelNames?: readonly string[];
  /**
   * `'memory'` keeps every decoded (resized) image after its first use: for small sets only.
   * @defaultValue 'none'
   */
  readonly cache?: 'none' | 'memory';
  /**
   * Files read/decoded at the same time, during the scan and while prefetching batches.
   * @defaultValue 16
   */
  readonly concurrency?: number;
  /**
   * How files are checked before `fromDirectory` resolves: `'decode'` decodes every image (at a reduced size, so
   * JPEG shrink-on-load keeps it cheap) and catches truncated files; `'header'` only reads headers (about 10x faster;
   * a file whose data is corrupt is then found while iterating, moved to `skipped` and dropped from its split).
   * @defaultValue 'decode'
   */
  readonly validate?: 'decode' | 'header';
  /**
   * Which decoder reads encoded bytes in Node: `'auto'` uses sharp when it is installed and the pure-JS decoders
   * (jpeg-js, pngjs: JPEG and PNG only) when it is not; `'sharp'` requires sharp; `'pure-js'` never loads sharp.
   * Browsers always use the platform's decoders.
   * @defaultValue 'auto'
   */
  readonly decoder?: 'auto' | 'sharp' | 'pure-js';
  /**
   * Most pixels (width x height, as the image's header declares them) an image may have; it is checked before
   * decoding, by every decoder. An image over it is skipped with a reason that names `maxPixels`.
   * @defaultValue 268402689 (sharp's default, 0x3FFF x 0x3FFF)
   */
  readonly maxPixels?: number;
  /**
   * Largest image file or download read, in bytes (at most 4 GiB); a larger file is skipped with a reason that names
   * `maxFileBytes`. Only regular files are read.
   * @defaultValue 268435456 (256 MiB)
   */
  readonly maxFileBytes?: number;
  /**
   * Longest wait, in milliseconds, for an image URL's response and for each chunk of its body (`fromSamples` with URL
   * samples); a server that stalls longer gets the image skipped with a reason that names `timeoutMs`. At most one day.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number;
  /**
   * What happens to a class with no usable image (an empty folder, one with only hidden or metadata files, or one
   * whose every file was skipped; for samples, a name in `labelNames` or a class index that no usable sample has):
   * `'error'` refuses the dataset with a {@link DatasetError} that names the class; `'drop'` leaves the class out, so
   * the remaining classes are renumbered in order, and lists it in `DataLoader.droppedClasses`.
   * @defaultValue 'error'
   */
  readonly emptyClasses?: 'error' | 'drop';
  /**
   * Called while a folder or sample list is scanned.
   * @defaultValue undefined
   */
  readonly onProgress?: (event: Progress<'list' | 'validate'>) => void;
}

/** The values of {@link DataLoaderOptions.validate} (internal shorthand). */
export type ValidateMode = NonNullable<DataLoaderOptions['validate']>;
/** The values of {@link DataLoaderOptions.emptyClasses} (internal shorthand). */
export type EmptyClassPolicy = NonNullable<DataLoaderOptions['emptyClasses']>;
/** The values of {@link DataLoaderOptions.splitMethod} (internal shorthand). */
export type SplitMethod = NonNullable<DataLoaderOptions['splitMethod']>;
