/**
 * Fixtures of the command-line tests: the tool built by tsup from this checkout, a tiny class-folder dataset of
 * coloured PNGs, and tiny bases saved as model.json, so each command runs end to end in about a second.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { io } from '../../src/index';
import { png, type Rgb } from '../fixtures/images';

export const repo = resolve(__dirname, '../..');

/**
 * Builds the tool with the project's tsup config (ESM, no declarations) into a new folder under node_modules (so its
 * imports of tfjs resolve as they do from dist/) and returns that folder and the path of its cli.js. dist/ is left
 * alone: other test files may be reading it.
 */
export async function buildCli(): Promise<{ outDir: string; cli: string }> {
  const { build } = await import('tsup');
  const config = (await import('../../tsup.config')).default as Parameters<typeof build>[0];
  const cache = join(repo, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const outDir = await mkdtemp(join(cache, 'tl-kit-cli-test-'));
  await build({ ...config, outDir, format: ['esm'], dts: false, sourcemap: false, silent: true });
  return { outDir, cli: join(outDir, 'cli.js') };
}

/** The outcome of one run of the tool. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <cli> ...args` in `cwd` (no TTY: stdout and stderr are pipes, as in CI). */
export function runNode(cli: string, args: readonly string[], cwd: string): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, TLKIT_CACHE_DIR: join(cwd, '.no-cache') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The classes of the generated dataset and their colours. */
export const COLOURS: Readonly<Record<string, Rgb>> = { blue: [30, 40, 220], green: [40, 210, 50], red: [220, 40, 30] };

/** Writes `perClass` noisy 16x16 PNGs per colour class under `root`, and a file that is not an image in red/. */
export async function writeColourFolders(root: string, perClass = 10): Promise<void> {
  for (const [name, [r, g, b]] of Object.entries(COLOURS)) {
    await mkdir(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const noise = (x: number, y: number, k: number): number => ((x * 7 + y * 13 + i * 29 + k * 5) % 41) - 20;
      const bytes = await png(16, 16, (x, y) => [r + noise(x, y, 0), g + noise(x, y, 1), b + noise(x, y, 2)]);
      await writeFile(join(root, name, `${i}.png`), bytes);
    }
  }
  await writeFile(join(root, 'red', 'notes.png'), 'this is text, not a PNG\n');
}

/**
 * Saves a tiny layers base to `dir`/model.json: a 1x1 convolution that passes the three colour channels through
 * (`scale` times, so that the head's logits move fast enough for a short test), and average pooling gives a
 * linear head the mean colour to learn from.
 */
export async function saveColourBase(dir: string, scale = 8): Promise<string> {
  const input = tfl.input({ shape: [16, 16, 3], name: 'image' });
  const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: 'colour', useBias: true });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor, name: 'colour_base' });
  const eye = tf.tidy(() => tf.mul(tf.reshape(tf.eye(3), [1, 1, 3, 3]), scale));
  const bias = tf.zeros([3]);
  conv.setWeights([eye, bias]);
  tf.dispose([eye, bias]);
  await model.save(io.fileSaveHandler(dir));
  model.dispose();
  return join(dir, 'model.json');
}
