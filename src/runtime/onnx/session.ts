/**
 * ONNX Runtime sessions (`onnxruntime-node`, an optional peer imported on first use, Node only) for frozen bases:
 * tfjs's NHWC float32 images in, features out.
 *
 * How waits behave, with onnxruntime-node 1.30: `InferenceSession.create` and `session.run` each do their native work
 * synchronously inside one `setImmediate` callback (on ORT's own thread pool for the math, blocking the JS thread
 * meanwhile), so their promises settle as soon as the native call returns; no JS-level wait is involved that could
 * stay pending. A JS timer cannot interrupt native work that is running. Each wait is still raced against
 * `timeoutMs`, which guards against a binding that leaves a promise pending forever (a future asynchronous binding,
 * a deadlock inside one); after a timeout the session refuses further runs, since a run still in flight may hold it.
 * Runs on one session are queued, one at a time: each already uses every thread given to it.
 *
 * @module
 */
import { InvalidArgumentError, LoadError, TlKitError, UnsupportedError, disposedError } from '../../errors';
import { rootReason } from '../../internal/cause';
import { isNode } from '../../internal/env';
import { importOptional, interopDefault, isModuleNotFound } from '../../internal/optional-import';
import { checkPositiveInteger } from '../../internal/validate';

/** Image axis order of an ONNX model's input (and of a rank-4 output). */
export type OnnxLayout = 'NCHW' | 'NHWC';

/** Options of {@link createOnnxSession}. */
export interface OnnxSessionOptions {
  /**
   * Threads ONNX Runtime uses inside one run (`intraOpNumThreads`).
   * @defaultValue every core (`os.availableParallelism()`)
   */
  readonly intraOpNumThreads?: number;
  /**
   * ONNX Runtime execution providers, passed through as given (e.g. `['cuda', 'cpu']` with a GPU build of
   * onnxruntime-node and its CUDA files installed).
   * @defaultValue ['cpu']
   */
  readonly executionProviders?: readonly unknown[];
  /**
   * Axis order of the model's image input. `run` always takes NHWC data; for an NCHW model it transposes the batch
   * before the run, and a rank-4 output back to NHWC after it.
   * @defaultValue 'NHWC'
   */
  readonly layout?: OnnxLayout;
  /**
   * Input to feed.
   * @defaultValue the model's first input
   */
  readonly inputName?: string;
  /**
   * Output to fetch.
   * @defaultValue the model's first output
   */
  readonly outputName?: string;
  /**
   * Let ONNX Runtime's threads busy-wait for work between operators (`session.intra_op.allow_spinning`). Spinning
   * can gain a little on an otherwise idle machine and loses a lot when anything else needs the cores, such as image
   * decoding in the same process: measured on a 2-core machine at load 8.5, MobileNetV2 at 224 px on 2 threads ran
   * at 40 images/s spinning against 71 without.
   * @defaultValue false
   */
  readonly spinning?: boolean;
  /**
   * Longest wait, in milliseconds, for the session to be created and for each run (see the module notes).
   * @defaultValue 600000 (10 minutes)
   */
  readonly timeoutMs?: number;
}

/** A batch of float32 values with its shape. */
export interface OnnxBatch {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** An ONNX Runtime session of one model. */
export interface OnnxSession {
  /**
   * Runs the model on NHWC images.
   *
   * @param data - `batch * h * w * c` float32 values, NHWC.
   * @param shape - `[batch, h, w, c]`.
   * @returns the fetched output (a rank-4 output in NHWC order); the caller owns it.
   * @throws {@link InvalidArgumentError} for data that does not match `shape` or the model's input;
   *   {@link TlKitError} `DISPOSED` after `release()`; code `WORKER` when ORT fails or a run times out.
   */
  run(data: Float32Array, shape: readonly number[]): Promise<OnnxBatch>;
  /** The input fed. */
  readonly inputName: string;
  /** The output fetched. */
  readonly outputName: string;
  /** `intraOpNumThreads` of the session. */
  readonly threads: number;
  /** Execution providers the session was created with. */
  readonly executionProviders: readonly unknown[];
  /** Frees the native session once the queued runs are done; later calls do nothing. */
  release(): Promise<void>;
}

/** The parts of onnxruntime-node's API used here (the package is an optional peer; its types are not needed). */
interface OrtTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}
interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor?: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  readonly InferenceSession: { create(bytes: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

const PACKAGE = 'onnxruntime-node';
const INSTALL_HINT =
  'install it with `npm install onnxruntime-node onnx-proto` (on Linux x64, put onnxruntime-node-install=skip in .npmrc first, so that its install does not download CUDA files)';

/**
 * Imports onnxruntime-node, or throws {@link UnsupportedError} saying how to get it. Also the cheap check of whether
 * the ONNX Runtime engine is available at all.
 *
 * @internal
 */
export async function importOnnxRuntime(call: string): Promise<OrtModule> {
  if (!isNode()) throw new UnsupportedError(`${call}: ${PACKAGE} runs in Node only; in a browser, use the tfjs engine`);
  let ns: unknown;
  try {
    ns = await importOptional<unknown>(PACKAGE);
  } catch (err) {
    if (isModuleNotFound(err)) {
      throw new UnsupportedError(`${call}: the optional package ${PACKAGE} is not installed; ${INSTALL_HINT}`, { cause: err });
    }
    throw new UnsupportedError(`${call}: ${PACKAGE} is installed but could not be loaded (${rootReason(err)})`, { cause: err });
  }
  const ort = interopDefault<Partial<OrtModule>>(ns);
  const module = ort.InferenceSession !== undefined ? ort : (ns as Partial<OrtModule>);
  if (module.InferenceSession === undefined || module.Tensor === undefined) {
    throw new UnsupportedError(`${call}: ${PACKAGE} does not export InferenceSession and Tensor; is it a supported version (1.17 or later)?`);
  }
  return module as OrtModule;
}

/** How many cores this process may use. */
async function coreCount(): Promise<number> {
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : Math.max(os.cpus().length, 1);
}

/** Rejects with `onTimeout()` when `promise` has not settled after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkProviders(call: string, value: unknown): readonly unknown[] {
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (p) => (typeof p === 'string' && p.length > 0) || (typeof p === 'object' && p !== null && typeof (p as { name?: unknown }).name === 'string'),
    );
  if (!ok) throw new InvalidArgumentError(call, 'executionProviders', "a non-empty list of provider names or { name, ... } objects", value);
  return [...(value as unknown[])];
}

/** Reorders a row-major 4-D array by `perm`. */
function transpose4(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const [d0, d1, d2, d3] = shape as [number, number, number, number];
  const strides = [d1 * d2 * d3, d2 * d3, d3, 1];
  const outShape = perm.map((p) => shape[p] as number) as [number, number, number, number];
  const s = perm.map((p) => strides[p] as number) as [number, number, number, number];
  const out = new Float32Array(data.length);
  let k = 0;
  for (let a = 0; a < outShape[0]; a++) {
    for (let b = 0; b < outShape[1]; b++) {
      for (let c = 0; c < outShape[2]; c++) {
        const base = a * s[0] + b * s[1] + c * s[2];
        for (let d = 0; d < outShape[3]; d++) out[k++] = data[base + d * s[3]] as number;
      }
    }
  }
  return out;
}

/**
 * Creates an ONNX Runtime session for a model's bytes, with full graph optimisation and, by default, every core.
 *
 * @param call - the public call that needs the session, named in errors.
 * @param bytes - a serialised ONNX `ModelProto` (from `convertLayersModel` or an ONNX file).
 * @param options - threads, execution providers, the input's layout, which input and output, timeout.
 * @returns the session; `release()` it when done.
 * @throws {@link UnsupportedError} when onnxruntime-node is missing (naming how to install it), or outside Node.
 * @throws {@link InvalidArgumentError} for a bad option or an input/output name the model lacks.
 * @throws {@link LoadError} when ONNX Runtime refuses the model.
 * @example
 * ```ts
 * const onnx = await convertLayersModel(base, { pooling: 'avg' });
 * const session = await createOnnxSession('myCall', onnx.bytes, { intraOpNumThreads: 2 });
 * const { data, shape } = await session.run(new Float32Array(2 * 96 * 96 * 3), [2, 96, 96, 3]);
 * await session.release();
 * ```
 */
export async function createOnnxSession(call: string, bytes: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
    throw new InvalidArgumentError(call, 'bytes', 'the bytes of an ONNX model (a non-empty Uint8Array)', bytes);
  }
  const threadsOption = options.intraOpNumThreads;
  if (threadsOption !== undefined) checkPositiveInteger(call, 'intraOpNumThreads', threadsOption);
  const providers = checkProviders(call, options.executionProviders ?? ['cpu']);
  const layout = options.layout ?? 'NHWC';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new InvalidArgumentError(call, 'layout', "'NCHW' or 'NHWC'", layout);
  const spinning = options.spinning ?? false;
  if (typeof spinning !== 'boolean') throw new InvalidArgumentError(call, 'spinning', 'a boolean', spinning);
  const timeoutMs = options.timeoutMs ?? 600_000;
  checkPositiveInteger(call, 'timeoutMs', timeoutMs);
  const ort = await importOnnxRuntime(call);
  const threads = threadsOption ?? (await coreCount());

  let session: OrtSession;
  try {
    session = await withTimeout(
      ort.InferenceSession.create(bytes, {
        executionProviders: providers,
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
      }),
      timeoutMs,
      () => new TlKitError('WORKER', `${call}: ONNX Runtime did not create the session within ${timeoutMs} ms`),
    );
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: ONNX Runtime cannot load the model (${rootReason(err)})`, { cause: err });
  }
  const pick = (option: 'inputName' | 'outputName', names: readonly string[]): string => {
    const wanted = options[option];
    const name = wanted ?? names[0];
    if (name === undefined || !names.includes(name)) {
      void session.release().catch(() => undefined);
      throw new InvalidArgumentError(call, option, `one of the model's ${option === 'inputName' ? 'inputs' : 'outputs'} (${names.join(', ')})`, wanted);
    }
    return name;
  };
  const inputName = pick('inputName', session.inputNames);
  const outputName = pick('outputName', session.outputNames);
  const declared = session.inputMetadata?.find((m) => m.name === inputName)?.shape;

  let queue: Promise<unknown> = Promise.resolve();
  let released = false;
  let broken: TlKitError | undefined;

  const runOnce = async (data: Float32Array, shape: readonly number[]): Promise<OnnxBatch> => {
    if (broken !== undefined) throw broken;
    const dims = layout === 'NCHW' ? [shape[0], shape[3], shape[1], shape[2]] as number[] : [...shape];
    const feed = new ort.Tensor('float32', layout === 'NCHW' ? transpose4(data, shape, [0, 3, 1, 2]) : data, dims);
    let result: Record<string, OrtTensor>;
    try {
      result = await withTimeout(session.run({ [inputName]: feed }, [outputName]), timeoutMs, () => {
        broken = new TlKitError('WORKER', `${call}: an ONNX Runtime run did not finish within ${timeoutMs} ms; the session was abandoned`);
        return broken;
      });
    } catch (err) {
      if (err instanceof TlKitError) throw err;
      throw new TlKitError('WORKER', `${call}: ONNX Runtime failed to run the model on a batch of shape [${shape.join(', ')}] (${rootReason(err)})`, { cause: err });
    }
    const out = result[outputName];
    if (out === undefined || out.type !== 'float32' || !(out.data instanceof Float32Array)) {
      throw new TlKitError('WORKER', `${call}: the model's output ${outputName} is not a float32 tensor (got ${out?.type ?? 'nothing'})`);
    }
    if (layout === 'NCHW' && out.dims.length === 4) {
      return { data: transpose4(out.data, out.dims, [0, 2, 3, 1]), shape: [out.dims[0], out.dims[2], out.dims[3], out.dims[1]] as number[] };
    }
    return { data: out.data, shape: [...out.dims] };
  };

  return {
    inputName,
    outputName,
    threads,
    executionProviders: providers,
    run(data, shape) {
      if (released) return Promise.reject(disposedError(`${call}: OnnxSession.run`, 'the ONNX Runtime session'));
      if (!(data instanceof Float32Array)) return Promise.reject(new InvalidArgumentError(call, 'data', 'a Float32Array', data));
      const validShape =
        Array.isArray(shape) && shape.length === 4 && shape.every((d) => Number.isInteger(d) && d > 0) &&
        shape.reduce((a, b) => a * b, 1) === data.length;
      if (!validShape) {
        return Promise.reject(new InvalidArgumentError(call, 'shape', `[batch, height, width, channels] holding the ${data.length} values given`, shape));
      }
      if (declared !== undefined && declared.length === 4) {
        const nhwc = layout === 'NCHW' ? [declared[0], declared[2], declared[3], declared[1]] : declared;
        if (nhwc.some((d, i) => i > 0 && typeof d === 'number' && d !== shape[i])) {
          const expected = `[batch, ${nhwc.slice(1).map((d) => (typeof d === 'number' ? d : 'any')).join(', ')}] (NHWC)`;
          return Promise.reject(new InvalidArgumentError(call, 'shape', expected, shape));
        }
      }
      const next = queue.then(() => runOnce(data, shape));
      queue = next.catch(() => undefined);
      return next;
    },
    async release() {
      if (released) return;
      released = true;
      // A run that timed out may still hold the session; leave it to the process rather than free it under the run.
      if (broken !== undefined) return;
      await withTimeout(queue, timeoutMs, () => new TlKitError('WORKER', `${call}: queued runs did not finish within ${timeoutMs} ms`)).catch(() => undefined);
      if (broken === undefined) await session.release();
    },
  };
}
