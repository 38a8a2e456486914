/** Messages between the worker-pool runtime and its threads (structured-clone safe, no tensors). */
import type { Pooling } from './types';

/** Backends a worker can run: the ones whose kernels run on the calling thread in Node. */
export type WorkerBackend = 'cpu' | 'wasm';

/** What a worker receives at start (`workerData`). */
export interface WorkerInit {
  /** The base, saved with `tf.io.withSaveHandler` (topology JSON, weight specs, one weight buffer). */
  readonly modelTopology: object;
  /** Weight specs matching `weightData`. */
  readonly weightSpecs: unknown[];
  /** All weights, concatenated. */
  readonly weightData: ArrayBuffer;
  /** Backend to run, the same as the main thread's. */
  readonly backend: WorkerBackend;
  /** Run the BN-folded, fused executor (true) or the model as it is (false). */
  readonly fused: boolean;
  /** Pooling applied in the thread, so that only feature vectors come back. */
  readonly pooling: Pooling;
  /** tfjs PROD flag of the main thread (keeps tfjs's console notices out when set). */
  readonly prod: boolean;
}

/** A batch to run. */
export interface WorkerRequest {
  /** Request number, echoed in the reply. */
  readonly id: number;
  /** Pixels, row-major `[batch, h, w, c]`. */
  readonly data: Float32Array;
  /** Shape of `data`. */
  readonly shape: number[];
}

/** A worker's reply. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly data: Float32Array; readonly shape: number[] }
  | { readonly type: 'error'; readonly id: number | null; readonly message: string; readonly stack?: string };
