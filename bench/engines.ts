/**
 * The engine comparison of `npm run bench`: the frozen-base forward pass of one base (random weights from tl-kit's
 * `applications` builders, `includeTop: false`, global average pooling as the Wrapper does it) on
 *
 * - tfjs, wasm backend, fused executor, on this thread and on the worker-thread pool (one thread per core);
 * - ONNX Runtime through tl-kit's converter and session, on 1 intra-op thread and on every core;
 * - Keras 3 / TensorFlow CPU (bench/keras_bench.py) at the same two thread counts, the same architecture built by
 *   `keras.applications` with its own random weights, `pooling="avg"`, timed with `predict_on_batch` (the compiled
 *   function `predict` runs) and with the eager `model(x, training=False)`.
 *
 * All variants run on the same batch size, round after round in a rotating order, so that load from other processes
 * slows them alike; each timed run repeats the batch until at least `minSeconds` have passed. tl-kit's runtimes are
 * the ones its calls use, opened through `openBaseRuntime` with the engine and thread count forced.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadavg } from 'node:os';
import { applications, type ApplicationName } from '../src/applications/index';
import { openBaseRuntime } from '../src/models/runtime-choice';
import { Wrapper } from '../src/models/wrapper';
import { describeWrapper } from '../src/models/wrapper-view';
import type { FrozenRuntime } from '../src/runtime/types';
import { countMacs } from './flops';
import type { KerasServer } from './python';
import { stat, type Stat } from './support';

/** The bases of the table. */
export const BASES: readonly { readonly model: ApplicationName; readonly size: number }[] = [
  { model: 'VGG16', size: 224 },
  { model: 'InceptionV3', size: 299 },
  { model: 'ResNet101V2', size: 224 },
  { model: 'MobileNetV2', size: 224 },
];

/** Which engine at which thread count. */
export type VariantId = 'tfjs-1' | 'tfjs-all' | 'onnxruntime-1' | 'onnxruntime-all' | 'keras-1' | 'keras-all';

/** Timings of one variant on one base. */
export interface VariantResult {
  readonly id: VariantId;
  readonly engine: 'tfjs' | 'onnxruntime' | 'keras';
  readonly threads: number;
  /** The runtime's own description (tl-kit's `runtime.summary`, or the Keras call timed). */
  readonly summary: string;
  /** Images per second of wall-clock time, one figure per round. */
  readonly imagesPerSecond: Stat;
  /** Images per second of CPU time used by the process running the engine (all its threads). */
  readonly imagesPerCpuSecond: Stat;
  /** Keras only: the eager `model(x, training=False)` path. */
  readonly eager?: { readonly imagesPerSecond: Stat; readonly imagesPerCpuSecond: Stat };
}

/** Everything measured on one base. */
export interface BaseResult {
  readonly model: ApplicationName;
  readonly size: number;
  readonly batch: number;
  /** Multiply-adds per image counted over the tfjs model's layers (bench/flops.ts). */
  readonly macs: number;
  /** The same count over the Keras model (keras_bench.py), when Keras ran. */
  readonly kerasMacs?: number;
  /** Whether Keras ran its predict function through XLA (`model.jit_compile`). */
  readonly kerasJitCompile?: boolean;
  /** TensorFlow's profiler count of all float ops of the traced Keras graph (BatchNorm, activations included). */
  readonly tfProfilerFlops?: number | null;
  readonly params: number;
  readonly variants: readonly VariantResult[];
  /** ONNX Runtime's features against the tfjs fused executor's on the same batch: max |diff| / max |tfjs|. */
  readonly onnxVsTfjs: number;
  /** The worker-thread pool's features equal the one-thread executor's bit for bit. */
  readonly threadsIdentical: boolean;
  /** Mean |feature| of the random-weight base, tfjs and Keras (a scale near the float32 subnormal range would slow some engines). */
  readonly featureMeanAbs: { readonly tfjs: number; readonly keras?: number };
  /** Seconds to convert the base to ONNX and open the session (the all-cores one). */
  readonly onnxOpenSeconds: number;
  /** 1-minute load average at the start of each round. */
  readonly load: Stat;
}

/** What a run asks for. */
export interface EngineRunOptions {
  readonly runs: number;
  readonly batch: number;
  readonly minSeconds: number;
  /** Threads of the "all cores" variants. */
  readonly cores: number;
  /** Keras servers by thread count (1 and `cores`), absent where Python is not available. */
  readonly keras?: { readonly one: KerasServer; readonly all: KerasServer };
}

interface Timing {
  readonly imagesPerSecond: number;
  readonly imagesPerCpuSecond: number;
}

/**
 * Runs `x` through `runtime` until `minSeconds` have passed, keeping `runtime.concurrency` batches in flight as
 * `fit`'s extraction does (the worker pool works on the next batch while the last one's features are read).
 */
async function timeRuntime(runtime: FrozenRuntime, x: tf.Tensor4D, minSeconds: number): Promise<Timing> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let started = 0;
  let finished = 0;
  const one = async (): Promise<void> => {
    started++;
    const features = await runtime.extract(x);
    await features.data();
    features.dispose();
    finished++;
  };
  const lanes = Array.from({ length: Math.max(1, runtime.concurrency) }, async () => {
    while ((performance.now() - t0) / 1000 < minSeconds || started === 0) await one();
  });
  await Promise.all(lanes);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const images = finished * (x.shape[0] as number);
  return { imagesPerSecond: images / seconds, imagesPerCpuSecond: images / ((cpu.user + cpu.system) / 1e6) };
}

interface KerasTiming {
  readonly imagesPerSecond: number;
  readonly cpuSeconds: number;
  readonly batches: number;
  readonly seconds: number;
}

async function timeKeras(server: KerasServer, mode: 'predict_on_batch' | 'call', minSeconds: number, batch: number): Promise<Timing> {
  const t = await server.request<KerasTiming>({ op: 'time', mode, minSeconds });
  return { imagesPerSecond: t.imagesPerSecond, imagesPerCpuSecond: (t.batches * batch) / t.cpuSeconds };
}

/** max |a - b| / max |b|. */
function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}

function meanAbs(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += Math.abs(v);
  return sum / values.length;
}

/** Measures one base on every variant (see the module notes). */
export async function benchBase(model: ApplicationName, size: number, options: EngineRunOptions): Promise<BaseResult> {
  const { runs, batch, minSeconds, cores, keras } = options;
  const log = (line: string): void => void process.stderr.write(`${model}@${size}: ${line}\n`);
  const base: tfl.LayersModel = await applications[model]({ includeTop: false, inputShape: [size, size, 3] });
  const macs = countMacs(base).macs;
  const params = base.countParams();
  const wrapper = Wrapper(base, { numClasses: 2 });
  const view = describeWrapper(wrapper);
  if (view === undefined) throw new Error('Wrapper made no Wrapper-shaped model');
  // A large image count, so that no thread count is capped by the job size.
  const open = (engine: 'tfjs' | 'onnxruntime', workers: number | undefined): Promise<FrozenRuntime> =>
    openBaseRuntime(view, { call: 'bench', images: 1_000_000, engine, ...(workers === undefined ? {} : { workers }) });
  const runtimes: Partial<Record<VariantId, FrozenRuntime>> = {};
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  try {
    runtimes['tfjs-1'] = await open('tfjs', 0);
    runtimes['tfjs-all'] = await open('tfjs', cores);
    runtimes['onnxruntime-1'] = await open('onnxruntime', 1);
    const openStarted = performance.now();
    // No thread count: ONNX Runtime's default in tl-kit, every core.
    runtimes['onnxruntime-all'] = await open('onnxruntime', undefined);
    const onnxOpenSeconds = (performance.now() - openStarted) / 1000;
    let kerasBuild: { macs: number; tfProfilerFlops: number | null; featureMeanAbs: number; jitCompile: boolean } | undefined;
    if (keras) {
      const request = { op: 'build', model, size, batch, seed: 1 };
      [kerasBuild] = await Promise.all([keras.one.request<typeof kerasBuild>(request), keras.all.request<typeof kerasBuild>(request)]);
    }

    // Warm-up (kernels compiled, weights packed, threads started) and the parity checks, on the same batch.
    const features: Partial<Record<VariantId, Float32Array>> = {};
    for (const id of ['tfjs-1', 'tfjs-all', 'onnxruntime-1', 'onnxruntime-all'] as const) {
      const runtime = runtimes[id] as FrozenRuntime;
      for (let i = 0; i < 2; i++) {
        const f = await runtime.extract(x);
        features[id] = (await f.data()) as Float32Array;
        f.dispose();
      }
    }
    const reference = features['tfjs-1'] as Float32Array;
    const onnxVsTfjs = Math.max(relativeDiff(features['onnxruntime-1'] as Float32Array, reference), relativeDiff(features['onnxruntime-all'] as Float32Array, reference));
    const threadsIdentical = (features['tfjs-all'] as Float32Array).every((v, i) => v === reference[i]);
    log(`ONNX Runtime vs tfjs ${onnxVsTfjs.toExponential(1)}, pool == one thread: ${threadsIdentical}, ONNX open ${onnxOpenSeconds.toFixed(1)} s`);

    const ids: VariantId[] = ['tfjs-1', 'tfjs-all', 'onnxruntime-1', 'onnxruntime-all', ...(keras ? (['keras-1', 'keras-all'] as const) : [])];
    const wall = new Map<VariantId, number[]>(ids.map((id) => [id, []]));
    const perCpu = new Map<VariantId, number[]>(ids.map((id) => [id, []]));
    const eager = { 'keras-1': { wall: [] as number[], cpu: [] as number[] }, 'keras-all': { wall: [] as number[], cpu: [] as number[] } };
    const loads: number[] = [];
    for (let r = 0; r < runs; r++) {
      loads.push(loadavg()[0] as number);
      // Rotate the order each round: no variant always runs right after the heaviest one.
      const order = ids.map((_, i) => ids[(i + r) % ids.length] as VariantId);
      const line: string[] = [];
      for (const id of order) {
        let t: Timing;
        if (id === 'keras-1' || id === 'keras-all') {
          const server = id === 'keras-1' ? keras?.one : keras?.all;
          if (server === undefined) continue;
          t = await timeKeras(server, 'predict_on_batch', minSeconds, batch);
          const e = await timeKeras(server, 'call', minSeconds, batch);
          eager[id].wall.push(e.imagesPerSecond);
          eager[id].cpu.push(e.imagesPerCpuSecond);
        } else {
          t = await timeRuntime(runtimes[id] as FrozenRuntime, x, minSeconds);
        }
        wall.get(id)?.push(t.imagesPerSecond);
        perCpu.get(id)?.push(t.imagesPerCpuSecond);
        line.push(`${id} ${t.imagesPerSecond.toFixed(2)}`);
      }
      log(`round ${r + 1}/${runs} (load ${loads.at(-1)?.toFixed(2)}): ${line.join(', ')} images/s`);
    }

    const variants: VariantResult[] = ids.map((id) => {
      const [engine, count] = id.split('-') as ['tfjs' | 'onnxruntime' | 'keras', string];
      const threads = count === 'all' ? cores : 1;
      const summary = engine === 'keras' ? `Keras predict_on_batch, TensorFlow intra-op/inter-op threads ${threads}` : (runtimes[id] as FrozenRuntime).info.summary;
      const e = id === 'keras-1' || id === 'keras-all' ? eager[id] : undefined;
      return {
        id,
        engine,
        threads,
        summary,
        imagesPerSecond: stat(wall.get(id) ?? []),
        imagesPerCpuSecond: stat(perCpu.get(id) ?? []),
        ...(e ? { eager: { imagesPerSecond: stat(e.wall), imagesPerCpuSecond: stat(e.cpu) } } : {}),
      };
    });
    return {
      model,
      size,
      batch,
      macs,
      ...(kerasBuild ? { kerasMacs: kerasBuild.macs, tfProfilerFlops: kerasBuild.tfProfilerFlops, kerasJitCompile: kerasBuild.jitCompile } : {}),
      params,
      variants,
      onnxVsTfjs,
      threadsIdentical,
      featureMeanAbs: { tfjs: meanAbs(reference), ...(kerasBuild ? { keras: kerasBuild.featureMeanAbs } : {}) },
      onnxOpenSeconds,
      load: stat(loads),
    };
  } finally {
    await Promise.all(Object.values(runtimes).map((r) => r.dispose()));
    x.dispose();
    wrapper.dispose();
    base.dispose();
  }
}
