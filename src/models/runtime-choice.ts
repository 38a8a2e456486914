/**
 * The one place that chooses how a Wrapper-shaped model's frozen base runs: which runtime implementation, on how
 * many threads. The pipeline asks for "the runtime of this model" and never chooses itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedError } from '../errors';
import { capWorkers, checkWorkers } from '../internal/validate';
import { isNode } from '../internal/env';
import { tfjsGraphRuntime, tfjsLayersRuntime } from '../runtime/tfjs-runtimes';
import type { FrozenRuntime } from '../runtime/types';
import { workerBackend, workerPoolRuntime, workerScriptAvailable } from '../runtime/worker-pool';
import type { WrapperView } from './wrapper-view';

/** What a pipeline call asks of the runtime. */
export interface RuntimeRequest {
  /** The public call, for error messages. */
  readonly call: string;
  /** How many images will go through the base (decides whether threads pay off). */
  readonly images: number;
  /** Worker threads the caller asked for; undefined lets tl-kit decide. */
  readonly workers?: number | undefined;
  /** Run the fused executor (default) or the layers one by one (benchmarks and tests compare the two). */
  readonly fused?: boolean;
}

/** Below this many images, starting threads (a model copy and a backend each) costs more than it saves. */
export const AUTO_WORKERS_MIN_IMAGES = 256;
/** At most this many threads by default: beyond it memory bandwidth, not cores, limits a frozen base. */
export const AUTO_WORKERS_MAX = 4;

/**
 * The worker threads used when the caller does not say: every core (at most {@link AUTO_WORKERS_MAX}) when all of
 * these hold, else 0 (this thread): Node, the cpu or wasm backend, a frozen layers base, at least
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

/**
 * Opens the runtime of `view`'s base for a batch stream: worker threads for large jobs on cpu/wasm in Node (or when
 * asked), else this thread; the fused executor for layers bases, the graph for graph bases.
 *
 * @throws InvalidArgumentError for a `workers` count out of range.
 * @throws UnsupportedError when workers were asked for where they cannot run (a browser, a GPU backend, a graph or
 *   unfrozen base).
 */
export async function openBaseRuntime(view: WrapperView, request: RuntimeRequest): Promise<FrozenRuntime> {
  const { call } = request;
  const fused = request.fused ?? true;
  const base = view.base;
  const shape = { inputShape: view.inputShape, pooling: view.pooling };
  if (request.workers !== undefined) checkWorkers(call, request.workers);
  if (request.workers !== undefined && request.workers > 1 && (base.kind !== 'layers' || !view.isBaseFrozen())) {
    throw new UnsupportedError(
      `${call}: workers need a frozen layers base (each thread loads a copy), got ${base.kind === 'graph' ? 'a GraphModel base' : 'a base with trainable weights'}; pass workers: 0`,
    );
  }
  if (base.kind === 'graph') return tfjsGraphRuntime(base.graph, { ...shape, outputNode: base.outputNode });
  const asked = request.workers ?? (await defaultWorkers(view, request.images));
  if (asked > 1) workerBackend(call); // refuses a browser or a backend other than cpu / wasm before counting cores
  // Never more threads than cores or images: extra threads only cost memory (a base copy and a backend each).
  const threads = asked > 1 ? capWorkers(asked, await coreCount(), request.images) : 0;
  if (threads > 1) return workerPoolRuntime(call, base.container, { ...shape, threads, fused });
  return tfjsLayersRuntime(base.container, {
    ...shape,
    fused,
    ...(base.inference ? { sharedCache: base.inference.fused } : {}),
  });
}
