/**
 * A quick sanity check, not the benchmark: one timed run (after a warm-up batch) of the frozen-base forward
 * pass of nsfwjs's MobileNetV2 (cut at out_relu, no pooling) on batches of 8, on the tfjs wasm fused executor (this
 * thread; two worker threads) and on ONNX Runtime (1 and 2 intra-op threads) through tl-kit's converter. Prints
 * images/s, the parity of ORT against tfjs, the conversion time and the load average.
 *
 * Usage: tsx bench/onnx-quick.ts [--size 224] [--batch 8] [--batches 4]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFrozenExecutor } from '../src/runtime/executor';
import { convertLayersModel } from '../src/runtime/onnx/convert';
import { createOnnxSession } from '../src/runtime/onnx/session';
import { defaultWorkerScript, startWorkerPool } from '../src/runtime/worker-pool';
import { loadNsfwjsBase } from './nsfwjs-bases';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const size = arg('size', 224);
const batch = arg('batch', 8);
const batches = arg('batches', 4);

async function rate(run: () => Promise<void>): Promise<number> {
  await run(); // warm-up
  const start = performance.now();
  for (let i = 0; i < batches; i++) await run();
  return (batches * batch) / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const require = createRequire(import.meta.url);
  setWasmPaths(pathToFileURL(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))).href + '/');
  await tf.setBackend('wasm');
  const base = await loadNsfwjsBase('MobileNetV2', size);
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const pixels = x.dataSync() as Float32Array;
  const load = loadavg()[0]?.toFixed(2);

  const executor = createFrozenExecutor(base);
  const reference = executor.predict(x) as tf.Tensor;
  const tfjs1 = await rate(async () => {
    const y = executor.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  });
  const pool = await startWorkerPool('bench', base, 2, true, 'wasm', await defaultWorkerScript('bench'));
  const tfjs2 = await rate(async () => {
    const y = await pool.run(x);
    y.dispose();
  });
  await pool.close();

  const started = performance.now();
  const conversion = await convertLayersModel(base);
  const convertMs = performance.now() - started;
  const ort: Record<number, number> = {};
  let parity = 0;
  for (const threads of [1, 2]) {
    const session = await createOnnxSession('bench', conversion.bytes, { intraOpNumThreads: threads });
    const out = await session.run(pixels, x.shape);
    const e = reference.dataSync();
    let diff = 0;
    let scale = 0;
    e.forEach((v, i) => {
      diff = Math.max(diff, Math.abs((out.data[i] as number) - v));
      scale = Math.max(scale, Math.abs(v));
    });
    parity = Math.max(parity, diff / scale);
    ort[threads] = await rate(async () => {
      await session.run(pixels, x.shape);
    });
    await session.release();
  }
  console.log(`nsfwjs MobileNetV2 @${size}, batch ${batch}, ${batches} timed batches after one warm-up, load average ${load}`);
  console.log(`tfjs wasm fused: 1 thread ${tfjs1.toFixed(1)} img/s, 2 worker threads ${tfjs2.toFixed(1)} img/s`);
  console.log(`ONNX Runtime:    1 thread ${ort[1]?.toFixed(1)} img/s, 2 threads ${ort[2]?.toFixed(1)} img/s`);
  console.log(`ORT vs tfjs max rel diff ${parity.toExponential(2)}; conversion ${convertMs.toFixed(0)} ms (${conversion.stats.nodes} nodes)`);
  tf.dispose([x, reference]);
  executor.dispose();
}

void main();
