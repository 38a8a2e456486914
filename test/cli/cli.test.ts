/**
 * `tl-kit` end to end, as a user runs it: the tool built by tsup from this checkout, run with node in a throwaway
 * folder on a tiny generated dataset and tiny bases saved as model.json. Output goes to pipes, so progress comes as
 * plain lines (verbose 1 off a TTY). The tarball's `npx tl-kit` is tested by `npm run test:package`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, COLOURS, repo, runNode, saveColourBase, writeColourFolders, type CliRun } from './helpers';

const installed = (name: string): boolean => {
  try {
    createRequire(join(repo, 'package.json')).resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
};

let cli = '';
let outDir = '';
let dir = '';
const tl = (...args: string[]): Promise<CliRun> => runNode(cli, args, dir);

beforeAll(async () => {
  let built: { outDir: string; cli: string };
  [built, dir] = await Promise.all([buildCli(), mkdtemp(join(tmpdir(), 'tlkit-cli-'))]);
  ({ outDir, cli } = built);
  await writeColourFolders(join(dir, 'colours'));
  await saveColourBase(join(dir, 'base'));
  await saveColourBase(join(dir, 'base-x2'), 16);
});
afterAll(async () => {
  await Promise.all([dir, outDir].filter((d) => d !== '').map((d) => rm(d, { recursive: true, force: true })));
});

describe('tl-kit (built)', () => {
  it('prints help for the tool and each command and exits 0; no command prints it to stderr and exits 2', async () => {
    const tool = await tl('--help');
    expect(tool.code).toBe(0);
    expect(tool.stdout).toMatch(/^Usage: tl-kit <command> \[options\]/);
    for (const command of ['train <dir>', 'predict <classifier> <image|folder>...', 'compare <dir> --bases A,B,...']) {
      expect(tool.stdout).toContain(`  ${command}  `);
    }
    const train = await tl('train', '--help');
    expect(train.code).toBe(0);
    for (const flag of ['--base BASE', '--image-size N', '--epochs N', '--batch-size N', '--split TRAIN,VAL,TEST', '--seed N', '--learning-rate R', '--out OUT', '--backend NAME']) {
      expect(train.stdout).toContain(flag);
    }
    expect((await tl('predict', '--help')).stdout).toContain('--json');
    expect((await tl('--help', 'compare')).stdout).toContain('Usage: tl-kit compare <dir> --bases A,B,... [options]');
    const none = await tl();
    expect([none.code, none.stdout]).toEqual([2, '']);
    expect(none.stderr).toContain('Usage: tl-kit <command>');
    expect((await tl('--version')).stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('shows in README.md and docs/cli.md the help it prints', async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const docs = await readFile(join(repo, 'docs', 'cli.md'), 'utf8');
    const fenced = (text: string): string => `\`\`\`\n${text.trimEnd()}\n\`\`\``;
    expect(readme).toContain(fenced((await tl('--help')).stdout));
    for (const command of ['train', 'predict', 'compare']) expect(docs).toContain(fenced((await tl(command, '--help')).stdout));
  });

  it('refuses wrong usage with exit code 2, the reason and a pointer to --help, before loading anything', async () => {
    const cases: [string[], string][] = [
      [['trian', 'x'], "tl-kit: unknown command 'trian' (did you mean train?)"],
      [['train', 'colours', '--epoch', '3'], "tl-kit train: unknown option '--epoch' (did you mean --epochs?)"],
      [['train', 'colours', '--epochs', 'ten'], "tl-kit train: --epochs must be an integer >= 1, got 'ten'"],
      [['compare', 'colours', '--bases', 'a', '--learning-rate', '0'], "tl-kit compare: --learning-rate must be a positive number, got '0'"],
      [['train', 'colours', '--split', '8,1'], "tl-kit train: --split must be three positive numbers train,validation,test (e.g. 8,1,1), got '8,1'"],
      [['train'], 'tl-kit train: missing <dir>'],
      [['train', 'colours', '--base', 'keras:VGG61'], "unknown Keras application 'VGG61' in 'keras:VGG61'"],
      [['train', 'colours', '--backend', 'gpu'], "tl-kit train: --backend must be one of tensorflow, wasm, cpu, got 'gpu'"],
      [['predict', 'classifier'], 'tl-kit predict: missing <classifier> <image|folder>...'],
      [['compare', 'colours'], 'tl-kit compare: missing --bases'],
    ];
    for (const [args, message] of cases) {
      const run = await tl(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toMatch(/Run 'tl-kit( \w+)? --help' for the options\.\n$/);
      expect(run.stderr).not.toContain('    at ');
    }
  });

  it('reports a failure as the tl-kit error class, code and message with exit code 1; --verbose adds the stack', async () => {
    const run = await tl('train', 'no-such-folder', '--base', 'base/model.json', '--backend', 'cpu');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('tl-kit train failed: DatasetError [DATASET]: DataLoader.fromDirectory: root "no-such-folder" does not exist');
    expect(run.stderr).not.toContain('    at ');
    const verbose = await tl('train', 'no-such-folder', '--base', 'base/model.json', '--backend', 'cpu', '--verbose');
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/DatasetError: DataLoader\.fromDirectory: root "no-such-folder" does not exist[^\n]*\n\s+at /);
  });

  it.skipIf(installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu'))('names the package to install for a backend that is missing', async () => {
    const missing = await tl('predict', 'out', 'colours', '--backend', 'tensorflow');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'tl-kit predict failed: UnsupportedError [UNSUPPORTED]: tl-kit: --backend tensorflow needs the package @tensorflow/tfjs-node; install it: npm install @tensorflow/tfjs-node',
    );
  });

  it('train: learns the colours, prints progress and the before / after table, writes the classifier and the report', async () => {
    const run = await tl('train', 'colours', '--base', 'base/model.json', '--epochs', '10', '--batch-size', '4', '--learning-rate', '0.05', '--split', '6,2,2', '--backend', 'cpu', '--out', 'out');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('data: 3 classes (blue, green, red); train 18, validation 6, test 6; 16 px, preprocessing tf');
    expect(run.stderr).toContain('skipped 1 file that could not be used:\n  red/notes.png: ');
    // no TTY: one line per epoch, no redrawn bar
    expect(run.stderr).toContain('extracting train features of 18 images\n');
    expect(run.stderr.match(/^epoch \d+\/10 5\/5 .* val_acc \d\.\d{4}$/gm)).toHaveLength(10);
    expect(run.stderr).not.toContain('\r');
    const row = /^base\/model\.json\s+(\d\.\d{3})\s+(\d\.\d{3})\s+\d\.\d{3}\s+\d+\.\d$/m.exec(run.stdout);
    expect(row, run.stdout).not.toBeNull();
    expect(Number(row?.[2])).toBe(1); // mean colours are linearly separable
    expect(run.stdout).toMatch(/^macro average\s+1\.000\s+1\.000\s+1\.000\s+6$/m);
    for (const file of ['classifier/model.json', 'classifier/weights.bin', 'classifier/metadata.json', 'report.html', 'loss.svg']) {
      expect(existsSync(join(dir, 'out', file)), file).toBe(true);
    }
    const metadata = JSON.parse(await readFile(join(dir, 'out', 'classifier', 'metadata.json'), 'utf8')) as { labels: string[]; baseName: string };
    expect([metadata.labels, metadata.baseName]).toEqual([['blue', 'green', 'red'], 'base/model.json']);

    // predict: a line per image of the folders given, the right colour each time; the text file fails (exit 1)
    const predicted = await tl('predict', 'out', 'colours/green', 'colours/red', '--backend', 'cpu');
    expect(predicted.code).toBe(1);
    const lines = predicted.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(lines).toHaveLength(20);
    for (const [file, label, probability] of lines) {
      expect(file?.split('/')[1], file).toBe(label);
      expect(Number(probability)).toBeGreaterThan(1 / 3);
    }
    expect(predicted.stderr).toContain('colours/red/notes.png: DecodeError [DECODE]: ');
    expect(predicted.stderr).toContain('tl-kit predict: 1 file could not be classified');
    const json = await tl('predict', 'out/classifier', 'colours/blue/0.png', '--json');
    expect(json.code, json.stderr).toBe(0);
    const [only] = JSON.parse(json.stdout) as { file: string; label: string; probability: number; predictions: { label: string }[] }[];
    expect(only?.label).toBe('blue');
    expect(only?.predictions.map((p) => p.label).sort()).toEqual(Object.keys(COLOURS).sort());
  });

  it('compare: trains a head on each base on the same splits, prints the table and writes the report', async () => {
    const run = await tl('compare', 'colours', '--bases', 'base/model.json,base-x2', '--epochs', '3', '--split', '6,2,2', '--out', 'cmp');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/\[1\/2\] base\/model\.json\n[^]*\[2\/2\] base-x2\n/);
    expect(run.stdout).toMatch(/^base\/model\.json\s+\d\.\d{3}\s+\d\.\d{3}/m);
    expect(run.stdout).toMatch(/^base-x2\s+\d\.\d{3}\s+\d\.\d{3}/m);
    expect(run.stdout).toContain(`report: ${join(dir, 'cmp', 'report.html')}`);
    expect(await readFile(join(dir, 'cmp', 'report.html'), 'utf8')).toContain('base-x2');
  });
});
