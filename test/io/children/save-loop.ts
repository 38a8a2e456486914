/**
 * Child process of test/io/atomic.test.ts (bundled by the test with esbuild, run with plain node): saves versions 1,
 * 2, 3, ... of a classifier folder in a loop with writeFolderAtomic, with a pause after the old version is moved
 * aside (a slow or network file system), until the test kills it with SIGKILL.
 *
 * Usage: node save-loop.mjs <target> <spec.json> <gapMs>
 * spec.json: { modelJson, metadata, floats }: a saved classifier's model.json and metadata.json, and the number of
 * float32 weights. Version v has labels [`a${v}`, `b${v}`] in both JSON files and every weight equal to v.
 */
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { setAtomicFs, writeFolderAtomic, type FolderFile } from '../../../src/io/atomic';

const [target, specPath, gapText] = process.argv.slice(2) as [string, string, string];
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as {
  modelJson: { userDefinedMetadata: { tlKit: { labels: string[] } } };
  metadata: { labels: string[] };
  floats: number;
};
const gap = Number(gapText);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

setAtomicFs({
  ...fsp,
  rename: async (from, to) => {
    await fsp.rename(from, to);
    // The window a crash must survive: the old version moved aside, the new one not yet in place.
    if (String(to).includes('.old-')) await sleep(gap);
  },
});

function version(v: number): FolderFile[] {
  const labels = [`a${v}`, `b${v}`];
  const modelJson = structuredClone(spec.modelJson);
  modelJson.userDefinedMetadata.tlKit.labels = labels;
  const weights = new Float32Array(spec.floats).fill(v);
  return [
    { name: 'model.json', data: JSON.stringify(modelJson) },
    { name: 'weights.bin', data: new Uint8Array(weights.buffer) },
    { name: 'metadata.json', data: JSON.stringify({ ...spec.metadata, labels }) },
  ];
}

process.stdout.write('ready\n');
for (let v = 1; ; v++) {
  await writeFolderAtomic(target, version(v));
  process.stdout.write(`saved ${v}\n`);
}
