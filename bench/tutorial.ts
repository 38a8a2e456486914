/**
 * `npm run bench:tutorial`: the Keras transfer-learning tutorial's flow, timed on both sides with the same base, the
 * same photos, the same splits and the same head:
 *
 * - base: nsfwjs's pretrained MobileNetV2 (alpha 1.0) at 224 px, cut at `out_relu`, frozen. tl-kit loads it with
 *   `loadNsfwBase`; its weights are exported here and loaded by name into `keras.applications.MobileNetV2(weights=None,
 *   include_top=False)`, so both sides run identical weights (Keras's ImageNet weights are not available offline).
 *   Both sides feed it pixels scaled to [0, 1], what the nsfwjs networks were trained on;
 * - head: global average pooling and a softmax Dense layer, Adam 1e-3, categorical cross-entropy, batch 32, 30 epochs,
 *   validation after each epoch, no augmentation, no dropout;
 * - data: ~150 photos in 4 classes made offline by bench/make_photos.py (seeded crops of scikit-image's sample
 *   photos, under .cache/bench-photos); tl-kit's `DataLoader.fromDirectory` splits them 70/15/15 (seeded, stratified)
 *   and the Keras side loads the same files per split into arrays;
 * - timed: tl-kit's `fit(model, data, { epochs })` from the image files, with engine 'auto' (ONNX Runtime where
 *   onnxruntime-node is installed), and Keras's plain `model.fit` on the preloaded arrays, each on every core. Only
 *   the fit is timed. Test accuracy comes from `evaluate` / `model.evaluate` on the test split.
 *
 * One untimed warm-up fit of 1 epoch runs on each side first; then the rounds alternate tl-kit and Keras. Needs
 * Python 3 (the photos and the Keras side); skipped with a note without it. Writes docs/bench/tutorial.json and
 * re-renders docs/benchmarks.md.
 *
 * Usage: tsx bench/tutorial.ts [--runs 3] [--epochs 30] [--per-class 38] [--quick]
 *   --quick  1 round of 3 epochs; prints, writes nothing
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { DataLoader } from '../src/data/data-loader';
import { openBaseRuntime } from '../src/models/runtime-choice';
import { Wrapper } from '../src/models/wrapper';
import { describeWrapper } from '../src/models/wrapper-view';
import { loadNsfwBase } from '../src/nsfwjs/index';
import { evaluate } from '../src/pipeline/evaluate';
import { fit } from '../src/pipeline/fit';
import { machineLine } from './machine';
import { ensurePython, KerasServer, runPythonScript, type KerasHello } from './python';
import { writeSummary } from './summary';
import { stat, useBackend, type Stat } from './support';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const has = (flag: string): boolean => args.includes(`--${flag}`);
const value = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};

const SIZE = 224;
const SPLIT_WEIGHTS = [0.7, 0.15, 0.15] as const;
const BATCH_SIZE = 32;
const LEARNING_RATE = 1e-3;
const SEED = 42;

/** One timed fit. */
export interface TutorialFit {
  readonly seconds: number;
  readonly testAccuracy: number;
  readonly testLoss: number;
  /** 1-minute load average when the fit started. */
  readonly load: number;
}

/** docs/bench/tutorial.json */
export interface TutorialResults {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly cores: number;
  /** What bench/make_photos.py recorded about the photo set. */
  readonly photos: Record<string, unknown>;
  readonly splits: { readonly train: number; readonly validation: number; readonly test: number };
  readonly labelNames: readonly string[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** tl-kit's runtime for the base, as `fit` reported it. */
  readonly tlkitRuntime: string;
  /** Layers of the Keras base that received the exported weights. */
  readonly kerasLayersAssigned: number;
  /** Pooled base features of the test images, Keras against tl-kit: max |diff| / max |tl-kit|. */
  readonly featureParity: number;
  readonly tlkit: readonly TutorialFit[];
  readonly keras: readonly TutorialFit[];
  /** Whether Keras's training step ran through XLA (compile's default `jit_compile="auto"`, resolved). */
  readonly kerasJitCompile: boolean;
  readonly tlkitSeconds: Stat;
  readonly kerasSeconds: Stat;
  /** Keras's median fit time over tl-kit's. */
  readonly speedup: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

/** Writes every weight of `model` to `dir/weights.bin` (float32, little-endian) with a manifest by layer name. */
async function exportWeights(model: tfl.LayersModel, dir: string): Promise<string> {
  const layers: { layer: string; weights: { name: string; shape: number[]; offset: number; size: number }[] }[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const entry: (typeof layers)[number] = { layer: layer.name, weights: [] };
    for (const weight of layer.weights) {
      const values = weight.read().dataSync() as Float32Array;
      entry.weights.push({ name: weight.originalName, shape: [...weight.shape] as number[], offset, size: values.length });
      chunks.push(values);
      offset += values.length;
    }
    layers.push(entry);
  }
  const blob = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    blob.set(c, at);
    at += c.length;
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'weights.bin'), new Uint8Array(blob.buffer));
  const manifest = join(dir, 'weights.json');
  await writeFile(manifest, JSON.stringify({ file: 'weights.bin', layers }));
  return manifest;
}

function photosReady(dir: string, perClass: number): boolean {
  const manifest = join(dir, 'manifest.json');
  if (!existsSync(manifest)) return false;
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { perClass?: number; size?: number };
  return m.perClass === perClass && m.size === SIZE;
}

async function main(): Promise<void> {
  const quick = has('quick');
  const runs = quick ? 1 : Number(value('runs', '3'));
  const epochs = quick ? 3 : Number(value('epochs', '30'));
  const perClass = Number(value('per-class', '38'));
  const photos = join(root, '.cache', 'bench-photos');
  const cores = availableParallelism();
  const loadBefore = loadavg();

  const python = ensurePython();
  if ('skipped' in python) {
    process.stderr.write(`note: the tutorial benchmark needs Python for its photos and the Keras side: ${python.skipped}\n`);
    return;
  }
  if (!photosReady(photos, perClass)) {
    const status = runPythonScript(python.python, 'make_photos.py', ['--out', photos, '--per-class', String(perClass), '--size', String(SIZE)]);
    if (status !== 0) throw new Error(`bench/make_photos.py failed with status ${status}`);
  }
  await useBackend('wasm');

  const data = await DataLoader.fromDirectory(photos, {
    imageSize: SIZE,
    batchSize: BATCH_SIZE,
    splitWeights: SPLIT_WEIGHTS,
    seed: SEED,
    preprocessing: 'unit',
  });
  const labelNames = data.labelNames;
  const spec = await loadNsfwBase('mobilenet_v2');
  const { server: keras, hello } = await KerasServer.start(python.python, cores);
  try {
    const weights = await exportWeights(spec.model as tfl.LayersModel, join(root, '.cache', 'bench-tutorial'));
    const splitFiles = (split: 'train' | 'validation' | 'test'): string[] => data.files(split).map((f) => join(photos, f));
    const splitLabels = (split: 'train' | 'validation' | 'test'): number[] => data.files(split).map((f) => labelNames.indexOf(f.split('/')[0] as string));
    const loaded = await keras.request<{ assignedLayers: number; counts: Record<string, number> }>({
      op: 'tutorial_load',
      weights,
      size: SIZE,
      classes: labelNames.length,
      files: { train: splitFiles('train'), validation: splitFiles('validation'), test: splitFiles('test') },
      labels: { train: splitLabels('train'), validation: splitLabels('validation'), test: splitLabels('test') },
    });

    // Same base, same pixels: the pooled features of the test images on both sides.
    const parityModel = Wrapper(spec, { numClasses: labelNames.length, inputShape: [SIZE, SIZE, 3] });
    const view = describeWrapper(parityModel);
    if (view === undefined) throw new Error('Wrapper made no Wrapper-shaped model');
    const runtime = await openBaseRuntime(view, { call: 'bench', images: data.numExamples.test });
    const ours: number[][] = [];
    const it = await data.testBatches.iterator();
    for (let next = await it.next(); !next.done; next = await it.next()) {
      const f = await runtime.extract(next.value.xs as tf.Tensor4D);
      ours.push(...(f.arraySync() as number[][]));
      tf.dispose([f, next.value.xs, next.value.ys]);
    }
    await runtime.dispose();
    parityModel.dispose();
    const theirs = (await keras.request<{ features: number[][] }>({ op: 'tutorial_features', n: ours.length })).features;
    let diff = 0;
    let scale = 0;
    ours.forEach((row, i) =>
      row.forEach((v, j) => {
        diff = Math.max(diff, Math.abs(v - (theirs[i]?.[j] ?? Number.NaN)));
        scale = Math.max(scale, Math.abs(v));
      }),
    );
    const featureParity = diff / scale;
    process.stderr.write(`Keras base: ${loaded.assignedLayers} layers got tl-kit's weights; test features Keras vs tl-kit ${featureParity.toExponential(1)}\n`);

    let tlkitRuntime = '';
    const tlkitFit = async (n: number): Promise<TutorialFit> => {
      const load = loadavg()[0] as number;
      const model = Wrapper(spec, { numClasses: labelNames.length, inputShape: [SIZE, SIZE, 3], seed: SEED });
      try {
        const t0 = performance.now();
        const history = await fit(model, data, { epochs: n, seed: SEED, learningRate: LEARNING_RATE });
        const seconds = (performance.now() - t0) / 1000;
        tlkitRuntime = history.runtime?.summary ?? 'not reported';
        const result = await evaluate(model, data);
        return { seconds, testAccuracy: result.accuracy, testLoss: result.loss, load };
      } finally {
        model.dispose();
      }
    };
    let kerasJitCompile = false;
    const kerasFit = async (n: number): Promise<TutorialFit> => {
      const load = loadavg()[0] as number;
      const r = await keras.request<{ seconds: number; testAccuracy: number; testLoss: number; jitCompile: boolean }>(
        { op: 'tutorial_fit', epochs: n, batchSize: BATCH_SIZE, learningRate: LEARNING_RATE, seed: SEED },
        1_800_000,
      );
      kerasJitCompile = r.jitCompile;
      return { seconds: r.seconds, testAccuracy: r.testAccuracy, testLoss: r.testLoss, load };
    };

    process.stderr.write('warm-up: 1 epoch on each side (not timed)\n');
    await tlkitFit(1);
    await kerasFit(1);
    const tlkit: TutorialFit[] = [];
    const kerasRuns: TutorialFit[] = [];
    for (let r = 0; r < runs; r++) {
      tlkit.push(await tlkitFit(epochs));
      kerasRuns.push(await kerasFit(epochs));
      const a = tlkit.at(-1) as TutorialFit;
      const b = kerasRuns.at(-1) as TutorialFit;
      process.stderr.write(
        `round ${r + 1}/${runs}: tl-kit ${a.seconds.toFixed(2)} s (test accuracy ${a.testAccuracy.toFixed(3)}, load ${a.load.toFixed(2)}), ` +
          `Keras ${b.seconds.toFixed(1)} s (test accuracy ${b.testAccuracy.toFixed(3)}, load ${b.load.toFixed(2)}): ${(b.seconds / a.seconds).toFixed(1)}x\n`,
      );
    }
    const tlkitSeconds = stat(tlkit.map((f) => f.seconds));
    const kerasSeconds = stat(kerasRuns.map((f) => f.seconds));
    const photoManifest = JSON.parse(readFileSync(join(photos, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const results: TutorialResults = {
      date: new Date().toISOString(),
      command: `npm run bench:tutorial${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
      machine: machineLine(),
      versions: {
        node: process.version,
        '@tensorflow/tfjs-core': (require('@tensorflow/tfjs-core/package.json') as { version: string }).version,
        'onnxruntime-node': (require('onnxruntime-node/package.json') as { version: string }).version,
        python: hello.versions.python,
        tensorflow: hello.versions.tensorflow,
        keras: hello.versions.keras,
      },
      cores,
      photos: photoManifest,
      splits: data.numExamples,
      labelNames,
      epochs,
      batchSize: BATCH_SIZE,
      learningRate: LEARNING_RATE,
      tlkitRuntime,
      kerasLayersAssigned: loaded.assignedLayers,
      featureParity,
      tlkit,
      keras: kerasRuns,
      kerasJitCompile,
      tlkitSeconds,
      kerasSeconds,
      speedup: kerasSeconds.median / tlkitSeconds.median,
      loadBefore,
      loadAfter: loadavg(),
    };
    if (quick) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      return;
    }
    await writeFile(join(root, 'docs', 'bench', 'tutorial.json'), `${JSON.stringify(results, null, 2)}\n`);
    await writeSummary();
    process.stdout.write('wrote docs/bench/tutorial.json and docs/benchmarks.md\n');
  } finally {
    await keras.close();
    (spec.model as tfl.LayersModel).dispose();
    data.dispose();
  }
}

await main();
