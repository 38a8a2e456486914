/**
 * The one place that chooses how a Wrapper-shaped model's frozen base runs: which engine, which runtime
 * implementation, on how many threads. The pipeline asks for "the runtime of this model" and never chooses itself.
 *
 * - `engine: 'auto'` (the default) runs a layers base on ONNX Runtime in Node when `onnxruntime-node` can be imported
 *   and the base converts, and on tfjs otherwise; why it fell back is reported in the runtime's `fallback`.
 * - `engine: 'onnxruntime'` insists: what prevents it is a typed error naming the package or the layer.
 * - `engine: 'tfjs'` keeps the base on tfjs: the fused executor, on worker threads for large jobs in Node.
 * - A graph-model base runs on tfjs, an ONNX base on ONNX Runtime, whatever the choice ('auto' says so).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedError } from '../errors';
import { isNode } from '../internal/env';
import { capWorkers, checkWorkers } from '../internal/validate';
import { OnnxConversionError } from '../runtime/onnx/errors';
import { onnxLayersRuntime, onnxModelRuntime } from '../runtime/onnx-runtimes';
import { tfjsGraphRuntime, tfjsLayersRuntime } from '../runtime/tfjs-runtimes';
import type { EngineChoice, FrozenRuntime } from '../runtime/types';
import { workerBackend, workerPoolRuntime, workerScriptAvailable } from '../runtime/worker-pool';
import type { WrapperView } from './wrapper-view';

/** What a pipeline call asks of the runtime. */
export interface RuntimeRequest {
  /** The public call, for error messages. */
  readonly call: string;
  /** How many images will go through the base (decides whether threads pay off). */
  readonly images: number;
  /**
   * Threads the caller asked for: tfjs worker threads (0 or 1: the calling thread), or ONNX Runtime's intra-op threads
   * (0 or 1: one thread); undefined lets tl-kit decide (every core for ONNX Runtime; for tfjs, worker threads only
   * for large jobs).
   */
  readonly workers?: number | undefined;
  /** Run tfjs's fused executor (default) or its layers one by one (benchmarks and tests compare the two). */
  readonly fused?: boolean;
  /** Overrides the engine the model carries (benchmarks and tests). */
  readonly engine?: EngineChoice;
}

/** Below this many images, starting threads (a model copy and a backend each) costs more than it saves. */
export const AUTO_WORKERS_MIN_IMAGES = 256;
/** At most this many threads by default: beyond it memory bandwidth, not cores, limits a frozen base. */
export const AUTO_WORKERS_MAX = 4;

/**
 * The tfjs worker threads used when the caller does not say: every core (at most {@link AUTO_WORKERS_MAX}) when all
 * of these hold, else 0 (this thread): Node, the cpu or wasm backend, a frozen layers base, at least
 * {@link AUTO_WORKERS_MIN_IMAGES} images, two or more cores, and tl-kit's worker script present next to the library.
 * Results are the same either way; only the speed differs.
 */
export async function defaultWorkers(view: WrapperView, images: number): Promise<number> {
  if (images < AUTO_WORKERS_MIN_IMAGES || !isNode()) return 0;
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') return 0;
  if (view.base.kind !== 'layers' || !view.isBaseFrozen()) return 0;
  const cores = await coreCount();
  if (cores < 2 || !(await workerScriptAvailable())) return 0;
  return Math.min(cores, AUTO_WORKERS_MAX);
}

/** Cores available to this process. */
export async function coreCount(): Promise<number> {
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Why ONNX Runtime cannot run this layers base, or undefined when it may: environment-level reasons only. */
function onnxUnavailable(): string | undefined {
  return isNode() ? undefined : 'ONNX Runtime runs in Node only (onnxruntime-node)';
}

/**
 * Opens the runtime of `view`'s base for a stream of batches (see the module notes for the rules).
 *
 * @throws InvalidArgumentError for a `workers` count out of range.
 * @throws UnsupportedError when tfjs worker threads were asked for where they cannot run (a browser, a GPU backend, a
 *   graph or unfrozen base), when `'onnxruntime'` was asked for outside Node or without onnxruntime-node, or when an
 *   ONNX base would have to run on tfjs.
 * @throws OnnxConversionError when `'onnxruntime'` was asked for and a layer of the base has no ONNX translation.
 */
export async function openBaseRuntime(view: WrapperView, request: RuntimeRequest): Promise<FrozenRuntime> {
  const { call } = request;
  const base = view.base;
  const engine = request.engine ?? view.engine;
  const shape = { inputShape: view.inputShape, pooling: view.pooling };
  if (request.workers !== undefined) checkWorkers(call, request.workers);
  if (base.kind === 'onnx') {
    if (engine === 'tfjs') {
      throw new UnsupportedError(`${call}: the base is an ONNX model, which runs on ONNX Runtime only; use engine 'auto' or 'onnxruntime'`);
    }
    const why = onnxUnavailable();
    if (why) throw new UnsupportedError(`${call}: the base is an ONNX model and ${why}`);
    return onnxModelRuntime(call, base.onnx, { ...shape, threads: onnxThreads(request.workers), executionProviders: view.executionProviders });
  }
  if (base.kind === 'graph') {
    if (engine === 'onnxruntime') {
      throw new UnsupportedError(`${call}: engine 'onnxruntime' cannot run a tfjs-converter graph-model base; use 'auto' or 'tfjs' (graph models run on tfjs)`);
    }
    if (request.workers !== undefined && request.workers > 1) throw workersNeedLayers(call, 'a GraphModel base');
    return tfjsGraphRuntime(base.graph, {
      ...shape,
      ...(base.outputNode ? { outputNode: base.outputNode } : {}),
      ...(engine === 'auto' ? { fallback: 'graph-model bases run on tfjs' } : {}),
    });
  }
  let fallback: string | undefined;
  if (engine !== 'tfjs') {
    const why = onnxUnavailable();
    if (why !== undefined) {
      if (engine === 'onnxruntime') throw new UnsupportedError(`${call}: engine 'onnxruntime': ${why}`);
      fallback = why;
    } else {
      try {
        return await onnxLayersRuntime(call, base.container, {
          ...shape,
          threads: onnxThreads(request.workers),
          executionProviders: view.executionProviders,
          ...(base.inference ? { sharedSessions: base.inference.onnxSessions } : {}),
        });
      } catch (err) {
        if (engine === 'onnxruntime') throw err;
        // 'auto' falls back to tfjs for the reasons it expects; anything else is a real failure.
        if (err instanceof OnnxConversionError) fallback = `layer '${err.layer}' (${err.className}) has no ONNX translation`;
        else if (err instanceof UnsupportedError) fallback = err.message.replace(/^[\w.]+: /, '');
        else throw err;
      }
    }
  }
  const tfjsShape = { ...shape, ...(fallback ? { fallback: `ONNX Runtime not used: ${fallback}` } : {}) };
  if (request.workers !== undefined && request.workers > 1 && !view.isBaseFrozen()) throw workersNeedLayers(call, 'a base with trainable weights');
  const asked = request.workers ?? (await defaultWorkers(view, request.images));
  if (asked > 1) workerBackend(call); // refuses a browser or a backend other than cpu / wasm before counting cores
  // Never more threads than cores or images: extra threads only cost memory (a base copy and a backend each).
  const threads = asked > 1 ? capWorkers(asked, await coreCount(), request.images) : 0;
  const fused = request.fused ?? true;
  if (threads > 1) return workerPoolRuntime(call, base.container, { ...tfjsShape, threads, fused });
  return tfjsLayersRuntime(base.container, {
    ...tfjsShape,
    fused,
    ...(base.inference ? { sharedCache: base.inference.fused } : {}),
  });
}

/** ONNX Runtime's intra-op threads for a `workers` option: every core when unset, else that many (at least 1). */
function onnxThreads(workers: number | undefined): number | undefined {
  return workers === undefined ? undefined : Math.max(1, workers);
}

function workersNeedLayers(call: string, got: string): UnsupportedError {
  return new UnsupportedError(`${call}: workers need a frozen layers base (each thread loads a copy), got ${got}; pass workers: 0`);
}
