/**
 * `npm run bench:tfjs`: the tfjs-only speed benchmarks of issue 6 (plain layers vs the fused executor, worker threads,
 * cached vs naive `fit`; the base pinned to tfjs), each backend in its own process. Writes docs/bench/speed.md,
 * docs/bench/speed.json (the raw figures) and re-renders the summary page docs/benchmarks.md. The engine comparison
 * (tfjs, ONNX Runtime, Keras) is `npm run bench` (bench/run.ts).
 *
 * Usage: tsx bench/tfjs-speed.ts [--runs 5] [--skip-cpu] [--skip-fit] [--quick] [--render-only]
 *   --quick        small batches, 2 runs: checks the pipeline end to end, figures not for the docs
 *   --render-only  re-renders the markdown from docs/bench/speed.json without measuring
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FitResult } from './fit';
import type { ForwardResult } from './forward';
import { renderSpeedReport, type SpeedResults } from './report';
import { writeSummary } from './summary';
import { hasTfjsNode, machineDescription } from './support';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const docs = join(root, 'docs');
const args = process.argv.slice(2);
const has = (flag: string): boolean => args.includes(`--${flag}`);
const value = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};

/** Runs a bench script in a fresh Node process (same tsx loader) and parses the JSON it writes. */
function runChild<T>(script: string, childArgs: string[]): T {
  const out = join(tmpdir(), `tlkit-bench-${process.pid}-${script.replace(/\W/g, '_')}-${Date.now()}.json`);
  const result = spawnSync(process.execPath, [...process.execArgv, join(here, script), ...childArgs, '--out', out], {
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: root,
  });
  if (result.status !== 0) throw new Error(`${script} ${childArgs.join(' ')} failed with status ${result.status}`);
  try {
    return JSON.parse(readFileSync(out, 'utf8')) as T;
  } finally {
    rmSync(out, { force: true });
  }
}

async function main(): Promise<void> {
  const jsonPath = join(docs, 'bench', 'speed.json');
  let results: SpeedResults;
  if (has('render-only')) {
    results = JSON.parse(await readFile(jsonPath, 'utf8')) as SpeedResults;
  } else {
    const quick = has('quick');
    const runs = quick ? '2' : value('runs', '5');
    const common = ['--runs', runs, ...(quick ? ['--quick'] : [])];
    const forward: ForwardResult[] = [];
    forward.push(...runChild<ForwardResult[]>('forward.ts', ['--backend', 'wasm', ...common]));
    if (!has('skip-cpu')) forward.push(...runChild<ForwardResult[]>('forward.ts', ['--backend', 'cpu', ...common]));
    // tfjs-node is not a dependency: measured only where the user has installed it.
    if (hasTfjsNode()) forward.push(...runChild<ForwardResult[]>('forward.ts', ['--backend', 'tensorflow', ...common]));
    const fit = has('skip-fit')
      ? null
      : runChild<FitResult>('fit.ts', ['--backend', 'wasm', '--runs', runs, ...(quick ? ['--images', '20', '--epochs', '3'] : [])]);
    results = {
      date: new Date().toISOString(),
      machine: machineDescription(),
      command: `npm run bench:tfjs${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
      runs: Number(runs),
      forward,
      fit,
    };
    if (quick) {
      process.stdout.write(renderSpeedReport(results));
      return;
    }
    await mkdir(dirname(jsonPath), { recursive: true });
    await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  }
  await writeFile(join(docs, 'bench', 'speed.md'), renderSpeedReport(results));
  await writeSummary();
  process.stdout.write(`wrote docs/bench/speed.md${has('render-only') ? '' : ', docs/bench/speed.json'} and docs/benchmarks.md\n`);
}

await main();
