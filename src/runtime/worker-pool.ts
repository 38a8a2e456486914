/**
 * The worker-pool runtime: worker threads that each hold a copy of the frozen base, run the tfjs runtime on one
 * contiguous slice of every batch and send pooled features back. Node only; `node:worker_threads` is imported lazily
 * so browser bundles never see it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { LoadError, TlKitError, UnsupportedError, disposedError } from '../errors';
import { isNode } from '../internal/env';
import type { WorkerBackend, WorkerInit, WorkerReply, WorkerRequest } from './protocol';
import { makeRuntime, tfjsSummary } from './runtime-base';
import type { BaseRuntimeInfo, FrozenRuntime, Pooling } from './types';

/** A started pool. */
export interface WorkerPool {
  /** Number of threads. */
  readonly size: number;
  /** Runs the base on `images`, split across the threads; the pooled features (batch order kept) are the caller's. */
  run(images: tf.Tensor4D): Promise<tf.Tensor2D>;
  /** Stops every thread. */
  close(): Promise<void>;
}

/** Where the worker entry is and how to start it. */
export interface WorkerScript {
  /** File URL or path of the worker entry. */
  readonly url: URL | string;
  /** File URL of tsx's ESM API, to start a TypeScript entry when tl-kit runs from its sources. */
  readonly tsxApi?: string;
}

interface MinimalWorker {
  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void;
  on(event: 'message', listener: (reply: WorkerReply) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'exit', listener: (code: number) => void): void;
  terminate(): Promise<number>;
}

/**
 * The worker entry shipped with the package: `speed-worker.js` (ESM) or `.cjs` next to the running module. When
 * tl-kit itself runs from its TypeScript sources (its own tests and benchmarks), the `.ts` entry is started through
 * tsx's loader, which must then be installed.
 */
export async function defaultWorkerScript(call: string): Promise<WorkerScript> {
  const here = import.meta.url;
  if (!/\.[cm]?ts$/.test(here)) {
    return { url: new URL(here.endsWith('.cjs') ? './speed-worker.cjs' : './speed-worker.js', here) };
  }
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  try {
    // require.resolve finds the API's CommonJS build; the ESM build next to it is the one that registers hooks.
    const tsxApi = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    return { url: new URL('./worker.ts', here), tsxApi };
  } catch (err) {
    throw new UnsupportedError(`${call}: running tl-kit from its TypeScript sources, workers need tsx installed`, {
      cause: err,
    });
  }
}

/** The main thread's backend when workers can run it, else an {@link UnsupportedError} naming the reason. */
export function workerBackend(call: string): WorkerBackend {
  if (!isNode()) {
    throw new UnsupportedError(`${call}: workers run in Node only; in a browser the backend already uses the hardware`);
  }
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') {
    throw new UnsupportedError(
      `${call}: workers need the 'cpu' or 'wasm' backend, the current one is '${backend}' (tfjs-node and GPU backends already use every core); pass workers: 0`,
    );
  }
  return backend;
}

/** Saves `model` into memory: topology, weight specs and one weight buffer. */
async function saveToMemory(model: tfl.LayersModel): Promise<Omit<WorkerInit, 'backend' | 'fused' | 'prod' | 'pooling'>> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved?.modelTopology === undefined || saved.weightSpecs === undefined || saved.weightData === undefined) {
    throw new Error('the model saved no topology or weights');
  }
  const parts = Array.isArray(saved.weightData) ? saved.weightData : [saved.weightData];
  const total = parts.reduce((n, b) => n + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of parts) {
    weightData.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return { modelTopology: saved.modelTopology as object, weightSpecs: saved.weightSpecs, weightData: weightData.buffer };
}

/**
 * Starts `count` workers, each loading a copy of `base`; resolves once all are ready.
 *
 * @throws LoadError when the base cannot be serialised or a worker cannot load it.
 */
export async function startWorkerPool(
  call: string,
  base: tfl.LayersModel,
  count: number,
  fused: boolean,
  pooling: Pooling,
  backend: WorkerBackend,
  script: WorkerScript,
): Promise<WorkerPool> {
  let saved: Awaited<ReturnType<typeof saveToMemory>>;
  try {
    saved = await saveToMemory(base);
  } catch (err) {
    throw new LoadError(`${call}: cannot serialise the base for worker threads: ${String(err)}`, { cause: err });
  }
  const init: WorkerInit = { ...saved, backend, fused, pooling, prod: tf.env().getBool('PROD') };
  const { Worker } = await import('node:worker_threads');
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let closed = false;
  const workers: MinimalWorker[] = [];
  // Set once a thread fails: later batches are refused instead of waiting for a thread that will never answer.
  let broken: Error | undefined;
  const failAll = (err: Error): void => {
    broken ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const started = Array.from({ length: count }, (_, index) => {
    // A TypeScript entry starts from a one-line bootstrap that registers tsx in the thread first.
    const worker = (
      script.tsxApi === undefined
        ? new Worker(script.url, { workerData: init })
        : new Worker(
            `import(${JSON.stringify(script.tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(String(script.url))}); });`,
            { eval: true, workerData: init },
          )
    ) as unknown as MinimalWorker;
    workers.push(worker);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (reply) => {
        if (reply.type === 'ready') {
          ready = true;
          resolve();
          return;
        }
        if (reply.type === 'error' && reply.id === null) {
          reject(new LoadError(`${call}: worker ${index} could not load the base: ${reply.message}`));
          return;
        }
        const id = reply.id as number;
        const p = pending.get(id);
        if (p === undefined) return;
        pending.delete(id);
        if (reply.type === 'result') p.resolve(reply);
        else p.reject(new TlKitError('WORKER', `FrozenRuntime.extract: worker thread ${index} failed on a batch: ${reply.message}`));
      });
      worker.on('error', (err) => {
        const wrapped = ready
          ? new TlKitError('WORKER', `FrozenRuntime.extract: worker thread ${index} crashed: ${err.message}`, { cause: err })
          : new LoadError(`${call}: worker ${index} failed to start (${String(script.url)}): ${err.message}`, { cause: err });
        if (!ready) reject(wrapped);
        failAll(wrapped);
      });
      worker.on('exit', (code) => {
        if (closed) return;
        const err = new TlKitError('WORKER', `FrozenRuntime.extract: worker thread ${index} exited with code ${code}`);
        if (!ready) reject(err);
        failAll(err);
      });
    });
  });

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    failAll(disposedError('FrozenRuntime.extract', 'the worker-pool runtime'));
    await Promise.all(workers.map((w) => w.terminate()));
  };

  try {
    await Promise.all(started);
  } catch (err) {
    await close();
    throw err;
  }

  const send = (worker: MinimalWorker, data: Float32Array, shape: number[]): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const request: WorkerRequest = { id, data, shape };
      worker.postMessage(request, [data.buffer as ArrayBuffer]);
    });

  const run = async (images: tf.Tensor4D): Promise<tf.Tensor2D> => {
    if (closed) throw disposedError('FrozenRuntime.extract', 'the worker-pool runtime');
    if (broken) throw broken;
    const [n, h, w, c] = images.shape;
    const pixels = await images.data<'float32'>();
    const per = Math.ceil(n / workers.length);
    const slices: Promise<WorkerReply>[] = [];
    for (let i = 0, start = 0; start < n; i++, start += per) {
      const end = Math.min(n, start + per);
      // slice() copies: the caller's tensor storage is never transferred away.
      const data = pixels.slice(start * h * w * c, end * h * w * c);
      slices.push(send(workers[i] as MinimalWorker, data, [end - start, h, w, c]));
    }
    const replies = (await Promise.all(slices)) as Extract<WorkerReply, { type: 'result' }>[];
    const first = replies[0] as Extract<WorkerReply, { type: 'result' }>;
    const out = new Float32Array(replies.reduce((s, r) => s + r.data.length, 0));
    let offset = 0;
    for (const r of replies) {
      out.set(r.data, offset);
      offset += r.data.length;
    }
    return tf.tensor2d(out, [n, first.shape[1] as number]);
  };

  return { size: workers.length, run, close };
}

/** Options of {@link workerPoolRuntime}. */
export interface WorkerPoolRuntimeOptions {
  /** Number of threads (2 or more). */
  readonly threads: number;
  /** The base's image shape `[h, w, c]`. */
  readonly inputShape: readonly [number, number, number];
  /** Pooling, applied in the threads. */
  readonly pooling: Pooling;
  /** Each thread runs the fused executor (true) or the layers one by one. */
  readonly fused: boolean;
  /** Where the worker entry is; the shipped one by default. */
  readonly script?: WorkerScript;
  /** Why 'auto' did not pick another engine, to report. */
  readonly fallback?: string;
}

/**
 * A layers base on `threads` worker threads, each running the tfjs runtime on its slice of every batch. Results are
 * identical to one thread, in the same order; two batches are kept in flight so no thread idles.
 *
 * @throws UnsupportedError outside Node or with a backend other than cpu / wasm.
 * @throws LoadError when the base cannot be serialised or a thread cannot load it.
 */
export async function workerPoolRuntime(call: string, base: tfl.LayersModel, options: WorkerPoolRuntimeOptions): Promise<FrozenRuntime> {
  const backend = workerBackend(call);
  const script = options.script ?? (await defaultWorkerScript(call));
  const pool = await startWorkerPool(call, base, options.threads, options.fused, options.pooling, backend, script);
  const partial: Omit<BaseRuntimeInfo, 'summary'> = {
    engine: 'tfjs',
    implementation: options.fused ? 'tfjs-fused' : 'tfjs-layers',
    backend,
    threads: pool.size,
    ...(options.fallback ? { fallback: options.fallback } : {}),
  };
  return makeRuntime(options.inputShape, {
    info: { ...partial, summary: tfjsSummary(partial) },
    concurrency: 2,
    run: (images) => pool.run(images),
    close: () => pool.close(),
  });
}

/** True when the shipped worker entry can be started from where tl-kit runs (a bundle may have left it out). */
export async function workerScriptAvailable(): Promise<boolean> {
  let script: WorkerScript;
  try {
    script = await defaultWorkerScript('workers');
  } catch {
    return false; // running from TypeScript sources without tsx
  }
  const url = script.url instanceof URL ? script.url : new URL(String(script.url));
  if (url.protocol !== 'file:') return true;
  const { access } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  try {
    await access(fileURLToPath(url));
    return true;
  } catch {
    return false;
  }
}
