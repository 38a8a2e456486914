/**
 * Feature extraction for a frozen base: images -> pooled features `[batch, featureSize]`, in inference mode.
 * This is the contract the pipeline calls; the speed work (BN folding, fused ops, worker threads) lives behind it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, TlKitError, UnsupportedError } from '../errors';
import { isNode } from '../internal/env';
import { checkNonNegativeInteger, checkOptionsObject } from '../internal/validate';
import type { WrapperParts } from '../models/parts';
import { InferenceBase } from '../models/inference-base';
import { createFrozenExecutor, type FrozenExecutor } from './executor';
import { defaultWorkerScript, startWorkerPool, workerBackend, type WorkerPool, type WorkerScript } from './worker-pool';

/** Options of {@link createFeatureExtractor}. */
export interface FeatureExtractorOptions {
  /**
   * Use the BN-folded, fused executor when the base is a frozen LayersModel.
   * @defaultValue true
   */
  readonly fused?: boolean;
  /**
   * Worker threads for extraction in Node with the cpu or wasm backend; 0 or 1 = this thread. Each thread holds its
   * own copy of the base; results are identical to the single-thread path and in the same order. Other backends and
   * browsers throw {@link UnsupportedError}.
   * @defaultValue 0
   */
  readonly workers?: number;
  /**
   * Where the worker entry is. Only needed when tl-kit is bundled so that `speed-worker.js` no longer sits next to
   * the library code.
   * @defaultValue the `speed-worker.js` / `.cjs` file next to the running tl-kit module
   */
  readonly workerScript?: URL | string;
}

/** Runs a frozen base plus pooling. `dispose()` frees what the extractor created (never the base). */
export interface FeatureExtractor {
  /**
   * Features for a batch of preprocessed images; the caller owns (and disposes) the result. Calls may overlap: with
   * worker threads, a second batch handed over before the first one's features arrive keeps every thread busy
   * (`fit` and `evaluate` keep two in flight). Each call resolves with its own batch's features.
   */
  extract(images: tf.Tensor4D): Promise<tf.Tensor2D>;
  /** Number of worker threads in use (0 = this thread). */
  readonly workers: number;
  /** True when the BN-folded, fused executor runs the base. */
  readonly fused: boolean;
  /** Frees the extractor's own tensors and threads. */
  dispose(): Promise<void>;
}

const CALL = 'createFeatureExtractor';

/**
 * Builds a feature extractor for the frozen base of a wrapped model. The fused executor runs when the base is a
 * frozen LayersModel and `fused` is not false; otherwise the base runs as the wrapper runs it. A base made by
 * `Wrapper` shares the executor it keeps for `predict`, which follows its weights; for any other base the folded
 * weights are a snapshot: build a new extractor after the base's weights change. A base whose graph the executor
 * cannot plan runs layer by layer (`fused` is then false).
 *
 * @throws InvalidArgumentError for a bad option.
 * @throws UnsupportedError when `workers` > 1 outside Node, with a backend other than cpu / wasm, or without a frozen
 * LayersModel base.
 * @throws LoadError when a worker cannot load the base.
 */
export async function createFeatureExtractor(
  parts: WrapperParts,
  options: FeatureExtractorOptions = {},
): Promise<FeatureExtractor> {
  checkOptionsObject(CALL, options);
  const fusedOption = options.fused ?? true;
  const workers = options.workers ?? 0;
  if (typeof fusedOption !== 'boolean') throw new InvalidArgumentError(CALL, 'fused', 'a boolean', fusedOption);
  checkNonNegativeInteger(CALL, 'workers', workers);
  const scriptOption = options.workerScript;
  if (scriptOption !== undefined && typeof scriptOption !== 'string' && !(scriptOption instanceof URL)) {
    throw new InvalidArgumentError(CALL, 'workerScript', 'a URL or a path', scriptOption);
  }
  const base = parts.base;
  const frozenBase = base !== null && parts.isBaseFrozen() ? base : null;
  const fused = fusedOption && frozenBase !== null;

  if (workers > 1) {
    if (frozenBase === null) {
      throw new UnsupportedError(
        `${CALL}: workers need a frozen LayersModel base (each thread loads a copy), got ${base === null ? 'a GraphModel base' : 'a base with trainable weights'}; pass workers: 0`,
      );
    }
    const backend = workerBackend(CALL);
    const script: WorkerScript = scriptOption !== undefined ? { url: scriptOption } : await defaultWorkerScript(CALL);
    const pool = await startWorkerPool(CALL, frozenBase, workers, fused, backend, script);
    return makeExtractor(parts, fused, pool.size, (images) => pool.run(images), () => pool.close());
  }

  if (fused && frozenBase instanceof InferenceBase) {
    // The Wrapper's own base keeps its fused executor up to date with its weights: share it rather than fold a copy.
    const shared = frozenBase;
    const runShared = (images: tf.Tensor4D): tf.Tensor => {
      const executor = shared.prepareFused();
      return executor === null ? parts.runBase(images) : (executor.predict(images) as tf.Tensor);
    };
    return makeExtractor(parts, shared.prepareFused() !== null, 0, async (images) => runShared(images), async () => {});
  }
  let executor: FrozenExecutor | undefined;
  if (fused && frozenBase !== null) executor = createFrozenExecutor(frozenBase);
  const runBase = executor
    ? (images: tf.Tensor4D): tf.Tensor => (executor as FrozenExecutor).predict(images) as tf.Tensor
    : parts.runBase;
  return makeExtractor(
    parts,
    fused,
    0,
    async (images) => runBase(images),
    async () => executor?.dispose(),
  );
}

function makeExtractor(
  parts: WrapperParts,
  fused: boolean,
  workers: number,
  runBase: (images: tf.Tensor4D) => Promise<tf.Tensor>,
  close: () => Promise<void>,
): FeatureExtractor {
  let disposed = false;
  const [h, w, c] = parts.inputShape;
  return {
    workers,
    fused,
    extract: async (images) => {
      if (disposed) throw new TlKitError('INVALID_ARGUMENT', 'FeatureExtractor.extract: the extractor was disposed');
      if (!(images instanceof tf.Tensor) || images.rank !== 4 || images.shape[0] < 1) {
        throw new InvalidArgumentError('FeatureExtractor.extract', 'images', 'a [batch >= 1, h, w, c] tensor', images instanceof tf.Tensor ? images.shape : images);
      }
      if (images.shape[1] !== h || images.shape[2] !== w || images.shape[3] !== c) {
        throw new InvalidArgumentError('FeatureExtractor.extract', 'images', `a [batch, ${h}, ${w}, ${c}] tensor`, images.shape);
      }
      const output = await runBase(images);
      try {
        return tf.tidy(() => parts.pool(output));
      } finally {
        output.dispose();
      }
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await close();
    },
  };
}

/** Below this many images, starting threads (a model copy and a backend each) costs more than it saves. */
export const AUTO_WORKERS_MIN_IMAGES = 256;
/** At most this many threads by default: beyond it memory bandwidth, not cores, limits a frozen base. */
export const AUTO_WORKERS_MAX = 4;

/**
 * The worker threads `fit` and `evaluate` use when the caller does not say: every core (at most
 * {@link AUTO_WORKERS_MAX}) when all of these hold, else 0 (this thread): Node, the cpu or wasm backend, a frozen
 * LayersModel base, at least {@link AUTO_WORKERS_MIN_IMAGES} images to extract, two or more cores, and tl-kit's
 * worker script present next to the library (a bundle that left it out runs on this thread). Results are the same
 * either way; only the speed differs.
 */
export async function defaultWorkers(parts: WrapperParts, images: number): Promise<number> {
  if (images < AUTO_WORKERS_MIN_IMAGES) return 0;
  if (!isNode()) return 0;
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') return 0;
  if (parts.base === null || !parts.isBaseFrozen()) return 0;
  const os = await import('node:os');
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  if (cores < 2) return 0;
  let script: WorkerScript;
  try {
    script = await defaultWorkerScript(CALL);
  } catch {
    return 0; // running from TypeScript sources without tsx: the documented precondition does not hold
  }
  const url = script.url instanceof URL ? script.url : new URL(String(script.url));
  if (url.protocol === 'file:') {
    const { access } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    try {
      await access(fileURLToPath(url));
    } catch {
      return 0;
    }
  }
  return Math.min(cores, AUTO_WORKERS_MAX);
}
