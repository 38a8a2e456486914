/**
 * {@link DataLoader}: labelled images from a folder, a sample list or tensors, split exactly and reproducibly into
 * train / validation / test, and streamed as preprocessed batches.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfd from '@tensorflow/tfjs-data';
import { DatasetError, InvalidArgumentError, UnsupportedError, disposedError, type TlKitError } from '../errors';
import { isNode } from '../internal/env';
import { hashSeed, shuffled } from '../internal/rng';
import { bufferedEpochOrder, type SplitIndices } from '../internal/split';
import { checkOneOf, checkOptionKeys, checkOptionsObject, checkPositiveInteger } from '../internal/validate';
import { batchDataset, type BatchContext, type SampleStore } from './batches';
import { keepUsableClasses, orderFolderLabels } from './classes';
import { decodeToPixels } from './decode';
import { DecodeFailure } from './decode-error';
import type { DataLoaderOptions, RawImage, RawImagesOptions, SkippedFile } from './loader-types';
import { planSplits, resolveLabelMode, resolveOptions, type ResolvedOptions } from './loader-options';
import type { RgbPixels } from './pixels';
import { resolveSampleLabels, sampleStore, tensorStore, validateSamples } from './stores';
import { compareCodePoints } from './label-order';
import type { Sample } from './sources';
import type { Batch, ImageBatchSource, LabelMode, PreprocessingMode, ResizeMode, SplitCounts, SplitName } from './types';

/** Everything a loader is built from, after scanning and splitting. */
interface LoaderInit {
  readonly call: string;
  readonly options: ResolvedOptions;
  readonly store: SampleStore;
  readonly labelNames: readonly string[];
  readonly labelMode: LabelMode;
  readonly splits: SplitIndices;
  readonly skipped: SkippedFile[];
  readonly droppedClasses: readonly string[];
}

/**
 * An image classification dataset split into train / validation / test and streamed as batches
 * `{ xs: [b, h, w, 3] float32, ys: [b, 1] or [b, k] }`. Implements {@link ImageBatchSource}.
 *
 * Splits are computed on index arrays once, from the seed: exact, disjoint and the same on every machine. Training
 * batches come in a new seeded order every epoch; validation and test batches in a fixed order. Images are decoded
 * while iterating, `concurrency` at a time ahead of the consumer, and not kept unless `cache: 'memory'`.
 *
 * @example
 * ```ts
 * import { DataLoader } from 'tl-kit';
 * const data = await DataLoader.fromDirectory('PetImages', { imageSize: 160, splitWeights: [8, 1, 1], seed: 42 });
 * console.log(data.labelNames, data.numExamples, data.skipped.length);
 * await data.trainBatches.forEachAsync(({ xs, ys }) => { xs.dispose(); ys.dispose(); });
 * data.dispose();
 * ```
 *
 * @category data
 */
export class DataLoader implements ImageBatchSource {
  /** Class names, index = class id (class folders sorted by code point, as Keras sorts them). */
  readonly labelNames: readonly string[];
  /**
   * Classes that had no usable image and were left out because of `emptyClasses: 'drop'`, in their original order
   * (empty otherwise: by default such a class is an error). They have no index in `labelNames`.
   */
  readonly droppedClasses: readonly string[];
  /** `[height, width]` of every image in a batch. */
  readonly imageSize: readonly [number, number];
  /** Target encoding of `ys`. */
  readonly labelMode: LabelMode;
  /** Images per batch. */
  readonly batchSize: number;
  /** Pixel scaling applied to every batch. */
  readonly preprocessing: PreprocessingMode;
  /** How images are brought to `imageSize`. */
  readonly resize: ResizeMode;
  /** Always false: the loader does not augment. */
  readonly augmented = false;
  /** Training batches, reshuffled every epoch (each new iteration) from the seed. */
  readonly trainBatches: tfd.Dataset<Batch>;
  /** Validation batches, in a fixed order. */
  readonly validationBatches: tfd.Dataset<Batch>;
  /** Test batches, in a fixed order. */
  readonly testBatches: tfd.Dataset<Batch>;

  readonly #store: SampleStore;
  readonly #splits: SplitIndices;
  readonly #skipped: SkippedFile[];
  readonly #seed: number;
  readonly #shuffleBufferSize: number;
  readonly #cache: Map<number, RgbPixels> | undefined;
  readonly #context: BatchContext;
  #epoch = 0;
  #rawDraws = 0;
  #disposed = false;

  private constructor(init: LoaderInit) {
    const o = init.options;
    this.labelNames = Object.freeze([...init.labelNames]);
    this.droppedClasses = Object.freeze([...init.droppedClasses]);
    this.imageSize = Object.freeze([o.imageSize[0], o.imageSize[1]]) as readonly [number, number];
    this.labelMode = init.labelMode;
    this.batchSize = o.batchSize;
    this.preprocessing = o.preprocessing;
    this.resize = o.resize;
    this.#store = init.store;
    this.#splits = init.splits;
    this.#skipped = init.skipped;
    this.#seed = o.seed;
    this.#shuffleBufferSize = o.shuffleBufferSize ?? Infinity;
    this.#cache = o.cache === 'memory' ? new Map<number, RgbPixels>() : undefined;
    const ctx: BatchContext = {
      call: 'DataLoader',
      store: init.store,
      imageSize: this.imageSize,
      resize: o.resize,
      preprocessing: o.preprocessing,
      labelMode: init.labelMode,
      numClasses: init.labelNames.length,
      batchSize: o.batchSize,
      concurrency: o.concurrency,
      cache: this.#cache,
      onFailure: (i, reason) => this.#dropFailed(i, reason),
      checkAlive: () => undefined,
      isAlive: () => !this.#disposed,
    };
    const stream = (name: string): BatchContext => ({ ...ctx, checkAlive: () => this.#checkAlive(name) });
    this.trainBatches = batchDataset(stream('trainBatches'), () =>
      bufferedEpochOrder(this.#splits.train, this.#shuffleBufferSize, this.#seed, this.#epoch++),
    );
    this.validationBatches = batchDataset(stream('validationBatches'), () => this.#splits.validation.slice());
    this.testBatches = batchDataset(stream('testBatches'), () => this.#splits.test.slice());
    this.#context = stream('batches');
  }

  /**
   * The batches of one split in a chosen order: `shuffle: true` gives a new seeded order on every iteration, with the
   * loader's `shuffleBufferSize` (what {@link DataLoader.trainBatches} does for training), `false` the split's own
   * order (what validation and test use).
   *
   * @param split - `'train'`, `'validation'` or `'test'`.
   * @param options - `shuffle`: reshuffle on every iteration.
   * @returns a tf.data dataset of batches.
   * @throws {@link InvalidArgumentError} for an unknown split or a non-boolean `shuffle`.
   * @example
   * ```ts
   * const ordered = data.batches('train', { shuffle: false }); // the training split in its own order
   * ```
   */
  batches(split: SplitName, options: { readonly shuffle: boolean }): tfd.Dataset<Batch> {
    const call = 'DataLoader.batches';
    checkOneOf(call, 'split', split, ['train', 'validation', 'test']);
    if (typeof options !== 'object' || options === null || typeof options.shuffle !== 'boolean') {
      throw new InvalidArgumentError(call, 'options.shuffle', 'a boolean', (options as { shuffle?: unknown } | null)?.shuffle);
    }
    const indices = this.#splits[split];
    this.#checkAlive('batches');
    return batchDataset(this.#context, () =>
      options.shuffle ? bufferedEpochOrder(indices, this.#shuffleBufferSize, this.#seed, this.#epoch++) : indices.slice(),
    );
  }

  /**
   * Loads a folder with one sub-folder per class (images found recursively inside; hidden files and folders
   * ignored; root-level files ignored). Every file under the class folders ends, once this resolves, in exactly one
   * split or in {@link DataLoader.skipped}. Node only.
   *
   * @param root - the dataset folder.
   * @param options - {@link DataLoaderOptions}.
   * @returns the loader.
   * @throws {@link InvalidArgumentError} for bad options; {@link DatasetError} when the root is missing or not a folder,
   *   fewer than two classes have usable images, or a split would be empty; {@link UnsupportedError} outside Node.
   * @example
   * ```ts
   * const data = await DataLoader.fromDirectory('PetImages', {
   *   imageSize: 160, batchSize: 32, splitWeights: [8, 1, 1], seed: 42,
   *   onProgress: (e) => e.phase === 'validate' && console.log(`${e.done}/${e.total}`),
   * });
   * console.log(data.getLabelName(1), data.files('test').length, data.skipped);
   * ```
   */
  static async fromDirectory(root: string, options?: DataLoaderOptions): Promise<DataLoader> {
    const call = 'DataLoader.fromDirectory';
    if (typeof root !== 'string' || root.length === 0) throw new InvalidArgumentError(call, 'root', 'a non-empty folder path', root);
    const o = resolveOptions(call, options);
    if (!isNode()) {
      throw new UnsupportedError(`${call}: reading folders needs Node; in a browser use DataLoader.fromSamples with URLs or Files`);
    }
    const { listDirectory, validateFiles } = await import('./node-scan');
    const { readImageFile } = await import('./node-decode');
    const listed = await listDirectory(call, root, o.onProgress);
    const reasons = await validateFiles(listed.files, o.validate, o.decoder, o.limits, o.concurrency, o.onProgress);
    const skipped = [...listed.skipped];
    const usable = listed.files.filter((f, i) => {
      const reason = reasons[i];
      if (reason !== undefined) skipped.push({ path: f.id, reason });
      return reason === undefined;
    });
    skipped.sort((a, b) => compareCodePoints(a.path, b.path));
    const ids = usable.map((f) => f.id);
    const { labels, labelNames } = orderFolderLabels(call, usable.map((f) => f.label), listed.labelNames, o.labelNames);
    const paths = usable.map((f) => f.path);
    const store: SampleStore = {
      ids,
      labels,
      // Read by the real bytes of the path, with the same checks as the scan: the file may have been replaced since.
      load: async (i, target) => {
        const bytes = await readImageFile(paths[i] as Uint8Array, o.limits.maxFileBytes);
        return decodeToPixels(ids[i] as string, target, o.decoder, o.limits, bytes);
      },
      dispose: () => undefined,
    };
    return DataLoader.#build(call, o, store, labelNames, skipped, 'folder');
  }

  /**
   * Loads labelled samples from any mix of sources (paths and bytes in Node, URLs, Blobs, browser images, pixels,
   * tensors). Sources are checked before this resolves (see `validate`); bad ones land in `skipped` by id.
   *
   * @param samples - `{ source, label, id? }` items.
   * @param options - {@link DataLoaderOptions}; `labelNames` orders or names the labels.
   * @returns the loader. Tensor sources stay owned by the caller and must stay alive until `dispose()`.
   * @throws {@link InvalidArgumentError} for bad options, labels or sample entries; {@link DatasetError} for fewer than two usable
   *   classes or an empty split.
   * @example
   * ```ts
   * const data = await DataLoader.fromSamples(
   *   [{ source: 'https://example.com/cat1.jpg', label: 'cat' }, { source: bytes, label: 'dog' }],
   *   { imageSize: 96, splitWeights: [2, 1, 1] },
   * );
   * ```
   */
  static async fromSamples(samples: readonly Sample[], options?: DataLoaderOptions): Promise<DataLoader> {
    const call = 'DataLoader.fromSamples';
    if (!Array.isArray(samples)) throw new InvalidArgumentError(call, 'samples', 'an array of { source, label }', samples);
    samples.forEach((sample: unknown, i) => {
      const s = sample as Partial<Sample> | null;
      if (typeof s !== 'object' || s === null || s.source === undefined || s.source === null) {
        throw new InvalidArgumentError(call, `samples[${i}]`, 'an object { source, label }', sample);
      }
    });
    const o = resolveOptions(call, options);
    const { labels, labelNames } = resolveSampleLabels(call, samples, o.labelNames);
    const store = sampleStore(samples, labels, o.decoder, o.limits);
    const { kept, skipped } = await validateSamples(store, samples, o);
    return DataLoader.#build(call, o, kept, labelNames, skipped, 'label');
  }

  /**
   * Loads images already in memory: `xs` `[n, h, w, 1 | 3 | 4]` with values 0..255 and one label per image.
   * The loader keeps its own reference-counted clone of the tensors; the caller may dispose theirs.
   *
   * @param xs - the images.
   * @param labels - class indices: a number array, a Tensor1D of indices, or a one-hot Tensor2D.
   * @param options - {@link DataLoaderOptions}; `labelNames` names the classes.
   * @returns the loader.
   * @throws {@link InvalidArgumentError} for tensors of the wrong shape or labels that do not match.
   * @example
   * ```ts
   * const xs = tf.randomUniform([100, 28, 28, 1], 0, 255, 'int32') as tf.Tensor4D;
   * const labels = Array.from({ length: 100 }, (_, i) => i % 10);
   * const data = await DataLoader.fromTensors(xs, labels, { imageSize: 32 });
   * ```
   */
  static async fromTensors(
    xs: tf.Tensor4D,
    labels: readonly number[] | tf.Tensor1D | tf.Tensor2D,
    options?: DataLoaderOptions,
  ): Promise<DataLoader> {
    const call = 'DataLoader.fromTensors';
    if (!(xs instanceof tf.Tensor) || xs.rank !== 4 || xs.isDisposed || ![1, 3, 4].includes(xs.shape[3])) {
      throw new InvalidArgumentError(call, 'xs', 'a live tf.Tensor4D [n, height, width, 1 | 3 | 4]', xs instanceof tf.Tensor ? xs.shape : xs);
    }
    const o = resolveOptions(call, options);
    const n = xs.shape[0];
    let indices: number[];
    if (labels instanceof tf.Tensor) {
      if (labels.isDisposed || labels.shape[0] !== n || labels.rank > 2) {
        throw new InvalidArgumentError(call, 'labels', `a Tensor1D or one-hot Tensor2D with ${n} rows`, labels.shape);
      }
      const asIndices = labels.rank === 2 ? tf.argMax(labels, 1) : labels;
      try {
        indices = Array.from(await asIndices.data(), Number);
      } finally {
        if (asIndices !== labels) asIndices.dispose();
      }
    } else {
      indices = Array.isArray(labels) ? [...labels] : [];
      if (!Array.isArray(labels) || indices.length !== n) {
        throw new InvalidArgumentError(call, 'labels', `an array of ${n} class indices`, Array.isArray(labels) ? `${labels.length} labels` : labels);
      }
    }
    const { labelNames } = resolveSampleLabels(
      call,
      indices.map((label) => ({ source: '', label })),
      o.labelNames,
    );
    const store = tensorStore(xs, indices);
    return DataLoader.#build(call, o, store, labelNames, [], 'label');
  }

  static #build(
    call: string,
    o: ResolvedOptions,
    store: SampleStore,
    labelNames: readonly string[],
    skipped: SkippedFile[],
    classKind: 'folder' | 'label',
  ): DataLoader {
    try {
      const present = new Set(store.labels);
      if (present.size < 2) {
        const loose = classKind === 'folder' ? skipped.filter((s) => !s.path.includes('/')).length : 0;
        throw new DatasetError(
          `${call}: needs at least two classes with usable images, got ${present.size} (classes: ${JSON.stringify(labelNames)}, ${store.ids.length} usable, ${skipped.length} skipped)` +
            (loose > 0 ? `; ${loose} file${loose === 1 ? ' is' : 's are'} directly in the folder: put the images in one sub-folder per class, named after the class` : ''),
        );
      }
      const kept = keepUsableClasses(call, o.emptyClasses, store, labelNames, skipped, classKind);
      const labelMode = resolveLabelMode(call, o.labelMode, kept.labelNames.length);
      if (typeof o.preprocessing === 'function') checkPreprocessingFunction(call, o);
      const splits = planSplits(call, kept.store.ids, kept.store.labels, o);
      return new DataLoader({
        call,
        options: o,
        store: kept.store,
        labelNames: kept.labelNames,
        droppedClasses: kept.dropped,
        labelMode,
        splits,
        skipped,
      });
    } catch (err) {
      store.dispose();
      throw err;
    }
  }

  /** Examples per split (a sample that fails to decode while iterating leaves its split; see `skipped`). */
  get numExamples(): SplitCounts {
    return { train: this.#splits.train.length, validation: this.#splits.validation.length, test: this.#splits.test.length };
  }

  /** Files that are in no split, with the reason, sorted by path. A copy: mutating it changes nothing. */
  get skipped(): readonly SkippedFile[] {
    return this.#skipped.map((s) => ({ ...s }));
  }

  /**
   * The class name of a class index.
   *
   * @param index - a class index in `[0, labelNames.length)`.
   * @returns the class name.
   * @throws {@link InvalidArgumentError} for an index out of range; a `DISPOSED` {@link TlKitError} after `dispose()`.
   * @example
   * ```ts
   * data.getLabelName(1); // 'Dog'
   * ```
   */
  getLabelName(index: number): string {
    this.#checkAlive('getLabelName');
    if (!Number.isInteger(index) || index < 0 || index >= this.labelNames.length) {
      throw new InvalidArgumentError('DataLoader.getLabelName', 'index', `an integer in [0, ${this.labelNames.length})`, index);
    }
    return this.labelNames[index] as string;
  }

  /**
   * The sample ids in a split, in ascending sample order (paths relative to the root for folders, `/`-separated).
   *
   * @param split - `'train'`, `'validation'` or `'test'`.
   * @returns a new array.
   * @throws {@link InvalidArgumentError} for an unknown split name; a `DISPOSED` {@link TlKitError} after `dispose()`.
   * @example
   * ```ts
   * const testFiles = data.files('test'); // ['Cat/12.jpg', 'Dog/7.jpg', ...]
   * ```
   */
  files(split: SplitName): string[] {
    this.#checkAlive('files');
    checkOneOf('DataLoader.files', 'split', split, ['train', 'validation', 'test']);
    return this.#splits[split].map((i) => this.#store.ids[i] as string);
  }

  /**
   * Decodes `n` randomly chosen usable samples (seeded; each call draws anew) at their original size, for looking at
   * the data or at a model's predictions. Samples that fail to decode are skipped, so fewer than `n` may come back.
   *
   * @param n - how many images (capped at the number of usable samples in the chosen split).
   * @param options - `split`: draw from one split only (`'test'` to show a trained model's predictions); all splits
   *   by default.
   * @returns images with their labels; the tensors belong to the caller, who must dispose them.
   * @throws {@link InvalidArgumentError} unless `n` is a positive integer and `options` holds only `split`, a split
   *   name; a `DISPOSED` {@link TlKitError} after `dispose()`.
   * @example
   * ```ts
   * const shown = await data.getRandomRawImages(20);
   * for (const { image, labelName } of shown) { console.log(labelName, image.shape); image.dispose(); }
   * const test = await data.getRandomRawImages(data.numExamples.test, { split: 'test' }); // the whole test split
   * ```
   */
  async getRandomRawImages(n: number, options: RawImagesOptions = {}): Promise<RawImage[]> {
    const call = 'DataLoader.getRandomRawImages';
    checkPositiveInteger(call, 'n', n);
    checkOptionsObject(call, options);
    checkOptionKeys<RawImagesOptions>(call, options, { split: true });
    const split = options?.split;
    if (split !== undefined) checkOneOf(call, 'split', split, ['train', 'validation', 'test']);
    this.#checkAlive('getRandomRawImages');
    const all = split === undefined ? [...this.#splits.train, ...this.#splits.validation, ...this.#splits.test] : [...this.#splits[split]];
    const drawn = shuffled(all, hashSeed(this.#seed) ^ hashSeed(++this.#rawDraws)).slice(0, n);
    const out: RawImage[] = [];
    try {
      for (const i of drawn) {
        // dispose() may run while an image decodes: stop with the loader's error, not the store's.
        this.#checkAlive('getRandomRawImages');
        let pixels: RgbPixels;
        try {
          pixels = await this.#store.load(i, undefined);
        } catch (err) {
          if (err instanceof DecodeFailure) continue;
          throw err;
        }
        const label = this.#store.labels[i] as number;
        const image = tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], 'int32');
        out.push({ image, label, labelName: this.labelNames[label] as string, id: this.#store.ids[i] as string });
      }
    } catch (err) {
      // The caller never receives these images.
      tf.dispose(out.map((r) => r.image));
      throw err;
    }
    return out;
  }

  /**
   * Frees what the loader holds: its clone of `fromTensors` tensors and any `cache: 'memory'` images. Tensors the
   * caller passed in and tensors handed out (batches, raw images) are the caller's. Afterwards every method and every
   * iteration of its datasets throws a {@link TlKitError} with code `DISPOSED`; its properties (`labelNames`,
   * `numExamples`, `skipped`, ...) stay readable. Calling `dispose()` again does nothing.
   *
   * @example
   * ```ts
   * data.dispose();
   * ```
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#cache?.clear();
    this.#store.dispose();
  }

  #checkAlive(what: string): void {
    if (this.#disposed) throw disposedError(`DataLoader.${what}`, 'the DataLoader');
  }

  #dropFailed(index: number, reason: string): void {
    for (const name of ['train', 'validation', 'test'] as const) {
      const list = this.#splits[name];
      const at = list.indexOf(index);
      if (at >= 0) list.splice(at, 1);
    }
    const path = this.#store.ids[index] as string;
    if (!this.#skipped.some((s) => s.path === path)) this.#skipped.push({ path, reason: `failed while iterating: ${reason}` });
  }
}

/** Runs a function `preprocessing` once on a 1-image zero batch to check its output shape before any epoch. */
function checkPreprocessingFunction(call: string, o: ResolvedOptions): void {
  tf.tidy(() => {
    const fn = o.preprocessing as (x: tf.Tensor4D) => tf.Tensor4D;
    const out: unknown = fn(tf.zeros([1, o.imageSize[0], o.imageSize[1], 3]) as tf.Tensor4D);
    if (!(out instanceof tf.Tensor) || out.rank !== 4 || out.shape[0] !== 1) {
      throw new InvalidArgumentError(call, 'preprocessing', 'a function returning a Tensor4D with the same batch size', out instanceof tf.Tensor ? out.shape : out);
    }
  });
}
