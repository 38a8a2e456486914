// The `tl-kit` bin from the tarball, run with npx in the consumer project as a user runs it: help, then train and
// predict on a tiny generated folder with a tiny base saved as model.json.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, runCaptured, step, writeImageFolders } from './lib.mjs';

// Saves a 1x1-convolution base that passes the colour channels through (times 8), with the consumer's own packages.
const SAVE_BASE = `
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { io } from 'tl-kit';
const input = tfl.input({ shape: [32, 32, 3] });
const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: 'colour' });
const model = tfl.model({ inputs: input, outputs: conv.apply(input) });
conv.setWeights([tf.mul(tf.reshape(tf.eye(3), [1, 1, 3, 3]), 8), tf.zeros([3])]);
await model.save(io.fileSaveHandler(process.argv[2]));
`;

/** Runs the CLI checks in `consumer`, where the tarball and its peers (and the cpu backend) are installed. */
export function checkCli(consumer) {
  const npx = (...args) => runCaptured('npx', ['--no-install', 'tl-kit', ...args], consumer);
  const help = npx('--help');
  check(help.code === 0 && help.stdout.startsWith('Usage: tl-kit <command> [options]'), `npx tl-kit --help failed:\n${help.stdout}${help.stderr}`);
  const usage = npx('train', 'data', '--epochs', 'zero');
  check(usage.code === 2 && usage.stderr.includes("--epochs must be an integer >= 1, got 'zero'"), `a usage error did not exit 2:\n${usage.stderr}`);
  step('npx tl-kit --help and a usage error (exit 2)');

  writeImageFolders(join(consumer, 'data'), ['red', 'blue']);
  writeFileSync(join(consumer, 'save-base.mjs'), SAVE_BASE);
  const saved = runCaptured('node', ['save-base.mjs', 'base'], consumer);
  check(saved.code === 0, `saving the tiny base failed:\n${saved.stderr}`);
  const trained = npx('train', 'data', '--base', 'base/model.json', '--epochs', '10', '--batch-size', '4', '--learning-rate', '0.05', '--backend', 'cpu', '--out', 'out');
  check(trained.code === 0, `npx tl-kit train failed (exit ${trained.code}):\n${trained.stdout}${trained.stderr}`);
  check(/^base\/model\.json\s+\d\.\d{3}\s+1\.000\s/m.test(trained.stdout), `train did not print a perfect after-training row:\n${trained.stdout}`);
  check(/^epoch 10\/10 /m.test(trained.stderr), `train printed no progress lines:\n${trained.stderr}`);
  for (const file of ['classifier/model.json', 'classifier/metadata.json', 'report.html']) {
    check(existsSync(join(consumer, 'out', file)), `train did not write out/${file}`);
  }
  step('npx tl-kit train: table, progress lines, classifier and report');

  const predicted = npx('predict', 'out', 'data/blue', '--json', '--backend', 'cpu');
  check(predicted.code === 0, `npx tl-kit predict failed (exit ${predicted.code}):\n${predicted.stderr}`);
  const rows = JSON.parse(predicted.stdout);
  check(rows.length === 10 && rows.every((r) => r.label === 'blue'), `predict --json did not label data/blue as blue:\n${predicted.stdout}`);
  step('npx tl-kit predict --json');
}
