/**
 * `npm run bench`: the frozen-base forward pass of VGG16@224, InceptionV3@299, ResNet101V2@224 and MobileNetV2@224 on
 * every engine at 1 thread and on all cores (tfjs wasm fused, ONNX Runtime, Keras/TensorFlow; see bench/engines.ts),
 * with each engine's GFLOP/s against the machine's fp32 peak (bench/machine.ts). Writes the raw figures to
 * docs/bench/engines.json and re-renders docs/benchmarks.md.
 *
 * The Keras side needs Python 3: a venv is created in .cache/bench-venv on first use (bench/python.ts); without
 * Python it is skipped with a note.
 *
 * Usage: tsx bench/run.ts [--runs 5] [--batch 8] [--min-seconds 1] [--models VGG16,MobileNetV2] [--no-keras]
 *                         [--quick] [--render-only]
 *   --quick        MobileNetV2 only, 2 runs of 0.3 s: checks the pipeline end to end; prints, writes nothing
 *   --render-only  re-renders docs/benchmarks.md from the JSON files in docs/bench/
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApplicationName } from '../src/applications/index';
import { BASES, benchBase, type BaseResult } from './engines';
import { machineLine, machinePeak, type MachinePeak } from './machine';
import { ensurePython, KerasServer, type KerasHello } from './python';
import { writeSummary } from './summary';
import { useBackend } from './support';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const has = (flag: string): boolean => args.includes(`--${flag}`);
const value = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};

/** Everything one `npm run bench` measured: docs/bench/engines.json. */
export interface EngineResults {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly peak: MachinePeak;
  readonly versions: Readonly<Record<string, string>>;
  readonly runs: number;
  readonly batch: number;
  readonly minSecondsPerRun: number;
  /** Threads of the "all cores" variants. */
  readonly cores: number;
  readonly keras?: { readonly one: KerasHello; readonly all: KerasHello };
  /** Why a part was not measured. */
  readonly skipped: readonly string[];
  /** 1-minute, 5-minute and 15-minute load averages before and after the run. */
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly bases: readonly BaseResult[];
}

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

async function main(): Promise<void> {
  if (has('render-only')) {
    await writeSummary();
    return;
  }
  const quick = has('quick');
  const runs = quick ? 2 : Number(value('runs', '5'));
  const batch = Number(value('batch', '8'));
  const minSeconds = quick ? 0.3 : Number(value('min-seconds', '1'));
  const only = value('models', quick ? 'MobileNetV2' : '').split(',').filter(Boolean);
  const bases = BASES.filter((b) => only.length === 0 || only.includes(b.model as ApplicationName));
  const cores = availableParallelism();
  const { loadavg } = await import('node:os');
  const loadBefore = loadavg();
  await useBackend('wasm');

  process.stderr.write('measuring the fp32 peak (bench/peak/fma.c)\n');
  const peak = machinePeak();
  process.stderr.write(
    `peak ${(peak.peakFlopsPerSecond / 1e9).toFixed(0)} GFLOP/s = ${peak.cores.value} cores x ${peak.fmaUnitsPerCore.value} FMA x ${peak.simdLanes.value} lanes x 2 x ${(peak.clockHz.value / 1e9).toFixed(2)} GHz\n`,
  );

  const skipped: string[] = [];
  let keras: { one: KerasServer; all: KerasServer } | undefined;
  let hello: EngineResults['keras'];
  if (has('no-keras')) {
    skipped.push('Keras/TensorFlow: skipped (--no-keras)');
  } else {
    const python = ensurePython();
    if ('skipped' in python) {
      process.stderr.write(`note: ${python.skipped}\n`);
      skipped.push(python.skipped);
    } else {
      const [one, all] = await Promise.all([KerasServer.start(python.python, 1), KerasServer.start(python.python, cores)]);
      keras = { one: one.server, all: all.server };
      hello = { one: one.hello, all: all.hello };
    }
  }

  const results: BaseResult[] = [];
  try {
    for (const { model, size } of bases) {
      results.push(await benchBase(model, size, { runs, batch, minSeconds, cores, ...(keras ? { keras } : {}) }));
    }
  } finally {
    await Promise.all([keras?.one.close(), keras?.all.close()]);
  }

  const output: EngineResults = {
    date: new Date().toISOString(),
    command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
    machine: machineLine(),
    peak,
    versions: {
      node: process.version,
      'tl-kit': (require(join(root, 'package.json')) as { version: string }).version,
      '@tensorflow/tfjs-core': packageVersion('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
      'onnxruntime-node': packageVersion('onnxruntime-node'),
      ...(hello ? { python: hello.all.versions.python, tensorflow: hello.all.versions.tensorflow, keras: hello.all.versions.keras } : {}),
    },
    runs,
    batch,
    minSecondsPerRun: minSeconds,
    cores,
    ...(hello ? { keras: hello } : {}),
    skipped,
    loadBefore,
    loadAfter: loadavg(),
    bases: results,
  };
  if (quick) {
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return;
  }
  const jsonPath = join(root, 'docs', 'bench', 'engines.json');
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify(output, null, 2)}\n`);
  await writeSummary();
  process.stdout.write('wrote docs/bench/engines.json and docs/benchmarks.md\n');
  tf.disposeVariables();
}

await main();
