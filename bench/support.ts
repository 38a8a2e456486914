/** Shared helpers of the speed benchmarks: backend selection, timing statistics, machine description. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** Backends the speed benchmarks run: cpu and wasm always, `tensorflow` (tfjs-node) when it is installed. */
export type BenchBackend = 'cpu' | 'wasm' | 'tensorflow';

/** The tfjs-node package: not a dependency of tl-kit; measured when the user has installed it. */
const TFJS_NODE = '@tensorflow/tfjs-node';

/** True when `@tensorflow/tfjs-node` can be resolved from this project. */
export function hasTfjsNode(): boolean {
  try {
    require.resolve(TFJS_NODE);
    return true;
  } catch {
    return false;
  }
}

/** Selects `backend` for this process (wasm binaries from the installed package). */
export async function useBackend(backend: BenchBackend): Promise<void> {
  tf.env().set('PROD', true);
  if (backend === 'wasm') {
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(`${pathToFileURL(dir).href}/`);
  }
  if (backend === 'tensorflow') {
    // A variable, so that TypeScript does not look for the package's types: it is optional.
    const name = TFJS_NODE;
    await import(name);
    if (tf.findBackend('tensorflow') === null) {
      throw new Error(
        `${TFJS_NODE} loaded but registered its backend with another copy of @tensorflow/tfjs-core; install versions that share one (npm ls @tensorflow/tfjs-core)`,
      );
    }
  }
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  await tf.ready();
}

/** Median, min and max of a sample. */
export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** Median (mean of the middle two for an even count), min and max. */
export function stat(values: readonly number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[n - 1] as number, runs: n };
}

/** `12.3 (11.9-12.8)`; figures below 5 get two decimals unless `digits` is given. */
export function fmt(s: Stat, digits = s.median < 5 ? 2 : 1): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
}

/** One line describing the machine and runtime. */
export function machineDescription(): string {
  const list = cpus();
  const model = list[0]?.model.trim() ?? 'unknown CPU';
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  const tfjs = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  return `${list.length} cores (${model}), ${gib} GiB RAM, ${platform()} ${release()}, Node ${process.version}, tfjs ${tfjs}`;
}

/** Load average over the last minute, per core: above ~0.5 other work shared the cores. */
export function loadPerCore(): number {
  // os.loadavg is 0 on Windows; the benchmarks are meant for Linux and macOS.
  const { loadavg } = require('node:os') as typeof import('node:os');
  return (loadavg()[0] as number) / Math.max(1, cpus().length);
}
