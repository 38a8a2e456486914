/**
 * Training benchmark: a 10-epoch `fit` on cached features (base runs once per image, fused executor) against the
 * naive path (the whole model runs every step), on nsfwjs MobileNetV2 at 160 px, with one extraction pass over the
 * same images as the yardstick. The three measurements run interleaved, round after round. Accuracy is the test
 * split's, from `evaluate`.
 *
 * The data are generated: two classes of 160x160 images (horizontal vs vertical stripes of random phase and
 * frequency, with noise), so the run needs no download and both paths can reach the same accuracy.
 *
 * Usage: tsx bench/fit.ts [--backend wasm] [--runs 5] [--images 60] [--epochs 10] --out result.json
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeFile } from 'node:fs/promises';
import { DataLoader } from '../src/data/data-loader';
import { createRng } from '../src/internal/rng';
import { describeWrapper } from '../src/models/wrapper-view';
import { openBaseRuntime } from '../src/models/runtime-choice';
import { Wrapper } from '../src/models/wrapper';
import { evaluate } from '../src/pipeline/evaluate';
import { fit } from '../src/pipeline/fit';
import { loadNsfwjsBase } from './nsfwjs-bases';
import { loadPerCore, stat, useBackend, type BenchBackend, type Stat } from './support';

/** Results of the training benchmark. */
export interface FitResult {
  readonly backend: BenchBackend;
  readonly images: number;
  readonly trainImages: number;
  readonly validationImages: number;
  readonly testImages: number;
  readonly epochs: number;
  /** Seconds. */
  readonly extractionPass: Stat;
  readonly cachedFit: Stat;
  readonly naiveFit: Stat;
  /** Test accuracy per run. */
  readonly cachedAccuracy: Stat;
  readonly naiveAccuracy: Stat;
  readonly load: readonly [number, number];
}

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

const SIZE = 160;

/** Stripes: class 0 horizontal, class 1 vertical; random frequency, phase and noise. Values in [0, 255]. */
function stripes(n: number, seed: number): { xs: tf.Tensor4D; labels: number[] } {
  const rng = createRng(seed);
  const data = new Float32Array(n * SIZE * SIZE * 3);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels.push(label);
    const period = 6 + rng.next() * 14;
    const phase = rng.next() * period;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const t = label === 0 ? y : x;
        const v = Math.sin((2 * Math.PI * (t + phase)) / period) > 0 ? 200 : 55;
        for (let c = 0; c < 3; c++) {
          data[((i * SIZE + y) * SIZE + x) * 3 + c] = Math.min(255, Math.max(0, v + (rng.next() - 0.5) * 80));
        }
      }
    }
  }
  return { xs: tf.tensor4d(data, [n, SIZE, SIZE, 3]), labels };
}

async function main(): Promise<void> {
  const backend = (arg('backend') ?? 'wasm') as BenchBackend;
  const runs = Number(arg('runs') ?? 5);
  const images = Number(arg('images') ?? 60);
  const epochs = Number(arg('epochs') ?? 10);
  const out = arg('out');
  await useBackend(backend);
  const loadBefore = loadPerCore();
  const base = await loadNsfwjsBase('MobileNetV2', SIZE);
  const { xs, labels } = stripes(images, 5);
  const data = await DataLoader.fromTensors(xs, labels, { imageSize: SIZE, batchSize: 8, splitWeights: [3, 1, 1] });

  const extractionPass = async (): Promise<number> => {
    const wrapper = Wrapper(base, { numClasses: 2, engine: 'tfjs' });
    const parts = describeWrapper(wrapper);
    if (parts === undefined) throw new Error('Wrapper made no Wrapper-shaped model');
    const t0 = performance.now();
    const extractor = await openBaseRuntime(parts, { call: 'bench', images: 0, workers: 0, engine: 'tfjs' });
    // What a cached fit extracts: the training and the validation split.
    for (const batches of [data.trainBatches, data.validationBatches]) {
      const it = await batches.iterator();
      for (let next = await it.next(); !next.done; next = await it.next()) {
        const features = await extractor.extract(next.value.xs as tf.Tensor4D);
        await features.data();
        tf.dispose([features, next.value.xs, next.value.ys]);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    await extractor.dispose();
    wrapper.dispose();
    return seconds;
  };

  const timedFit = async (cacheFeatures: boolean): Promise<[number, number]> => {
    // tfjs's cached path against its naive loop (issue 6); ONNX Runtime's fit is timed by bench/tutorial.ts.
    const wrapper = Wrapper(base, { numClasses: 2, seed: 1, engine: 'tfjs' });
    const t0 = performance.now();
    await fit(wrapper, data, { epochs, cacheFeatures, seed: 1 });
    const seconds = (performance.now() - t0) / 1000;
    const result = await evaluate(wrapper, data);
    wrapper.dispose();
    return [seconds, result.accuracy];
  };

  // Warm-up: kernels compiled, weights packed, for both paths.
  await extractionPass();
  await timedFit(true);
  const s = { pass: [] as number[], cached: [] as number[], naive: [] as number[], cachedAcc: [] as number[], naiveAcc: [] as number[] };
  for (let r = 0; r < runs; r++) {
    s.pass.push(await extractionPass());
    const [ct, ca] = await timedFit(true);
    s.cached.push(ct);
    s.cachedAcc.push(ca);
    const [nt, na] = await timedFit(false);
    s.naive.push(nt);
    s.naiveAcc.push(na);
    process.stderr.write(`fit round ${r + 1}: pass ${s.pass.at(-1)?.toFixed(1)} s, cached ${ct.toFixed(1)} s (acc ${ca}), naive ${nt.toFixed(1)} s (acc ${na})\n`);
  }
  const result: FitResult = {
    backend,
    images,
    trainImages: data.numExamples.train,
    validationImages: data.numExamples.validation,
    testImages: data.numExamples.test,
    epochs,
    extractionPass: stat(s.pass),
    cachedFit: stat(s.cached),
    naiveFit: stat(s.naive),
    cachedAccuracy: stat(s.cachedAcc),
    naiveAccuracy: stat(s.naiveAcc),
    load: [loadBefore, loadPerCore()],
  };
  data.dispose();
  xs.dispose();
  base.dispose();
  const json = JSON.stringify(result, null, 2);
  if (out) await writeFile(out, json);
  else process.stdout.write(`${json}\n`);
}

await main();
