/**
 * Forward-pass benchmark of one backend: images/s of the plain base, the BN-folded fused executor and the fused
 * executor on all cores, for nsfwjs's MobileNetV2 and InceptionV3 through tl-kit's real extraction path
 * (`Wrapper` -> `createFeatureExtractor`). The three variants run interleaved, round after round, so that a noisy
 * machine slows them alike. Also checks fused == plain (max relative error) and threads == one thread (bit-identical).
 *
 * Part of `npm run bench:tfjs` (bench/tfjs-speed.ts); the engine comparison of `npm run bench` is bench/engines.ts.
 *
 * Usage: tsx bench/forward.ts --backend wasm|cpu [--runs 5] [--quick] [--model MobileNetV2] --out result.json
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { describeWrapper } from '../src/models/wrapper-view';
import { openBaseRuntime } from '../src/models/runtime-choice';
import { Wrapper } from '../src/models/wrapper';
import type { FrozenRuntime } from '../src/runtime/types';
import { createFrozenExecutor } from '../src/runtime/executor';
import { forEachExtracted, type BatchIterator } from '../src/pipeline/extract-stream';
import { loadNsfwjsBase, type NsfwjsBaseName } from './nsfwjs-bases';
import { loadPerCore, stat, useBackend, type BenchBackend, type Stat } from './support';

/** One model at one size, with the batch it is timed on. */
export interface ForwardConfig {
  readonly model: NsfwjsBaseName;
  readonly size: number;
  readonly batch: number;
}

/** Results of one config. */
export interface ForwardResult extends ForwardConfig {
  readonly backend: BenchBackend;
  /** Worker threads of the threads variant; 0 for tfjs-node, where threads are refused (it uses every core). */
  readonly workers: number;
  /** Batches streamed per timed run (absent in results from before runs were streams: one batch). */
  readonly batchesPerRun?: number;
  /** images/s per variant. */
  readonly plain: Stat;
  readonly fused: Stat;
  /** Absent for tfjs-node, whose kernels already use every core (tl-kit refuses workers there). */
  readonly allCores?: Stat;
  /**
   * images/s of `model.predict` on the Wrapper model (base, pooling and head, batch size = the batch), which runs the
   * base's own fused executor. Absent in results from before predict was fused.
   */
  readonly predict?: Stat;
  /**
   * Images per second of CPU time the process used (all its threads): what each variant costs, independent of how
   * much of the machine other processes took. Absent in results from before this measure existed.
   */
  readonly perCpuSecond?: { readonly plain: Stat; readonly fused: Stat; readonly allCores?: Stat };
  /** Max |fused - plain| / max |plain| over the pooled features of one batch. */
  readonly fusedRelError: number;
  /** True when the threaded features equal the one-thread fused features bit for bit; absent without threads. */
  readonly threadsIdentical?: boolean;
  /** What the executor folded. */
  readonly executorStats: string;
  /** Load average per core while this config ran (before, after). */
  readonly load: readonly [number, number];
  /** Top kernels (ms per batch) of the plain and fused runs, when profiled. */
  readonly profile?: {
    readonly plain: string;
    readonly fused: string;
    readonly plainKernelMs?: number;
    readonly fusedKernelMs?: number;
  };
}

const CONFIGS: Record<BenchBackend, readonly ForwardConfig[]> = {
  wasm: [
    { model: 'MobileNetV2', size: 160, batch: 32 },
    { model: 'InceptionV3', size: 160, batch: 16 },
    { model: 'InceptionV3', size: 299, batch: 8 },
  ],
  // The cpu backend runs plain JavaScript kernels (~1.6 images/s on MobileNetV2): small batches keep it to minutes.
  cpu: [
    { model: 'MobileNetV2', size: 160, batch: 4 },
    { model: 'InceptionV3', size: 160, batch: 2 },
  ],
  tensorflow: [
    { model: 'MobileNetV2', size: 160, batch: 32 },
    { model: 'InceptionV3', size: 160, batch: 16 },
    { model: 'InceptionV3', size: 299, batch: 8 },
  ],
};

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

/**
 * Batches per timed run. `fit` and `evaluate` extract a split as a stream of batches through `forEachExtracted`
 * (which keeps two batches in flight when there are worker threads), so each timed run is such a stream. The cpu
 * backend is ~50x slower: fewer batches keep its runs to minutes.
 */
const STREAM_BATCHES: Record<BenchBackend, number> = { wasm: 4, cpu: 2, tensorflow: 4 };

/**
 * Streams `batches` copies of `x` through the extractor as `fit` does and returns images/s of wall-clock time and
 * images per second of CPU time used by the whole process (threads included).
 */
async function timeStream(extractor: FrozenRuntime, x: tf.Tensor4D, batches: number): Promise<[number, number]> {
  // The stream disposes what it reads: fresh copies, made before the clock starts (a copy costs the main thread
  // time that a dataset's batches, already in memory, would not).
  const ready = Array.from({ length: batches }, () => ({ xs: tf.clone(x), ys: tf.zeros([x.shape[0], 1]) as tf.Tensor2D }));
  const stream: BatchIterator = {
    next: async () => {
      const value = ready.shift();
      return value === undefined ? { done: true, value: undefined } : { done: false, value };
    },
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await forEachExtracted(extractor, stream, undefined, async (_batch, features) => {
    await features.data();
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const images = batches * x.shape[0];
  return [images / seconds, images / ((cpu.user + cpu.system) / 1e6)];
}

async function kernelProfile(run: () => tf.Tensor): Promise<{ text: string; total: number }> {
  const info = await tf.profile(() => run());
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    // Op-level wrappers (e.g. fusedConv2d__op) nest their kernel: count kernels only.
    if (k.name.endsWith('__op')) continue;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const text = [...byKernel]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, ms]) => `${name} ${((100 * ms) / total).toFixed(0)}%`)
    .join(', ')
    .concat(` (kernel total ${total.toFixed(0)} ms)`);
  return { text, total };
}

async function runConfig(backend: BenchBackend, config: ForwardConfig, runs: number, profile: boolean): Promise<ForwardResult> {
  const loadBefore = loadPerCore();
  const base = await loadNsfwjsBase(config.model, config.size);
  // This report measures tfjs's executor and worker threads: the engine is pinned to tfjs ('auto' picks ONNX Runtime
  // where onnxruntime-node is installed; `npm run bench` compares the engines).
  const wrapper = Wrapper(base, { numClasses: 2, engine: 'tfjs' });
  const parts = describeWrapper(wrapper);
  if (parts?.base.kind !== 'layers') throw new Error('Wrapper made no layers base');
  // tfjs-node's kernels already use every core; tl-kit refuses worker threads there.
  const workers = backend === 'tensorflow' ? 0 : cpus().length;
  const open = (request: { workers: number; fused?: boolean }) => openBaseRuntime(parts, { call: 'bench', images: config.batch * 1000, engine: 'tfjs', ...request });
  const plain = await open({ workers: 0, fused: false });
  const fused = await open({ workers: 0 });
  const allCores = workers > 1 ? await open({ workers }) : undefined;
  const x = tf.randomUniform([config.batch, config.size, config.size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;

  // Warm-up (first calls compile kernels and pack weights) and correctness checks on the same batch.
  const a = await plain.extract(x);
  const b = await fused.extract(x);
  const c = allCores ? await allCores.extract(x) : undefined;
  const fusedRelError = tf.tidy(
    () => (tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number) / (tf.max(tf.abs(a)).dataSync()[0] as number),
  );
  const bData = b.dataSync();
  const threadsIdentical = c ? c.dataSync().every((v, i) => v === bData[i]) : undefined;
  tf.dispose([a, b]);
  c?.dispose();

  // model.predict as a user calls it, timed through the same stream (its output is the head's, not features).
  const predict: FrozenRuntime = {
    info: fused.info,
    concurrency: 1,
    extract: async (images) => wrapper.predict(images, { batchSize: config.batch }) as tf.Tensor2D,
    dispose: async () => {},
  };
  tf.dispose(wrapper.predict(x, { batchSize: config.batch }) as tf.Tensor);

  const variants = { plain, fused, allCores, predict };
  const wall = { plain: [] as number[], fused: [] as number[], allCores: [] as number[], predict: [] as number[] };
  const cpu = { plain: [] as number[], fused: [] as number[], allCores: [] as number[], predict: [] as number[] };
  for (let r = 0; r < runs; r++) {
    for (const name of ['plain', 'fused', 'allCores', 'predict'] as const) {
      const variant = variants[name];
      if (variant === undefined) continue;
      const [w, c] = await timeStream(variant, x, STREAM_BATCHES[backend]);
      wall[name].push(w);
      cpu[name].push(c);
    }
  }
  const executor = createFrozenExecutor(parts.base.container);
  const s = executor.stats;
  const executorStats = `${s.layers} layers -> ${s.ops} ops: ${s.foldedBatchNorms} BN folded, ${s.fusedActivations} activations and ${s.mergedPaddings} paddings fused`;
  let profiled: ForwardResult['profile'];
  if (profile) {
    const one = tf.slice(x, [0, 0, 0, 0], [Math.min(8, config.batch), -1, -1, -1]) as tf.Tensor4D;
    const p = await kernelProfile(() => parts.runBase(one));
    const f = await kernelProfile(() => executor.predict(one) as tf.Tensor);
    profiled = { plain: p.text, fused: f.text, plainKernelMs: p.total, fusedKernelMs: f.total };
    one.dispose();
  }
  executor.dispose();
  await Promise.all([plain.dispose(), fused.dispose(), allCores?.dispose()]);
  x.dispose();
  wrapper.dispose();
  base.dispose();
  return {
    ...config,
    backend,
    workers,
    batchesPerRun: STREAM_BATCHES[backend],
    plain: stat(wall.plain),
    fused: stat(wall.fused),
    ...(allCores ? { allCores: stat(wall.allCores) } : {}),
    predict: stat(wall.predict),
    perCpuSecond: { plain: stat(cpu.plain), fused: stat(cpu.fused), ...(allCores ? { allCores: stat(cpu.allCores) } : {}) },
    fusedRelError,
    ...(threadsIdentical === undefined ? {} : { threadsIdentical }),
    executorStats,
    load: [loadBefore, loadPerCore()],
    profile: profiled,
  };
}

async function main(): Promise<void> {
  const backend = (arg('backend') ?? 'wasm') as BenchBackend;
  const runs = Number(arg('runs') ?? 5);
  const out = arg('out');
  const quick = args.includes('--quick');
  await useBackend(backend);
  const results: ForwardResult[] = [];
  const only = arg('model');
  for (const config of CONFIGS[backend].filter((c) => only === undefined || c.model === only)) {
    const c = quick ? { ...config, batch: Math.max(2, Math.floor(config.batch / 4)) } : config;
    const result = await runConfig(backend, c, runs, c.model === 'MobileNetV2');
    process.stderr.write(
      `${backend} ${c.model}@${c.size}: plain ${result.plain.median.toFixed(1)}, fused ${result.fused.median.toFixed(1)}` +
        `${result.allCores ? `, ${result.workers} threads ${result.allCores.median.toFixed(1)}` : ''} img/s\n`,
    );
    results.push(result);
  }
  const json = JSON.stringify(results, null, 2);
  if (out) await writeFile(out, json);
  else process.stdout.write(`${json}\n`);
}

await main();
