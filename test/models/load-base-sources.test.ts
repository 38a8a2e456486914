/**
 * loadBase's file sources: the `file://` forms tfjs-node accepts, folders, and errors that name loadBase (not the
 * file handler it uses inside).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnsafeModelError } from '../../src/errors';
import { fileLoadHandler, fileSaveHandler } from '../../src/io/file-handler';
import { loadBase } from '../../src/models/load-base';
import { tinyConvBnBase } from '../fixtures/bases';

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-sources-'));
  dir = join(root, 'base');
  const base = tinyConvBnBase();
  await base.save(fileSaveHandler(dir));
  base.dispose();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function loadsAndFrees(source: string): Promise<void> {
  const spec = await loadBase(source, { preprocessing: 'unit' });
  expect(spec.inputShape).toEqual([8, 8, 3]);
  (spec.model as tfl.LayersModel).dispose();
}

describe('loadBase file sources', () => {
  it('accepts the file:// forms tfjs-node accepts: file:///abs, file://./rel and file://rel', async () => {
    const rel = relative(process.cwd(), join(dir, 'model.json'));
    const before = tf.memory().numTensors;
    for (const source of [pathToFileURL(join(dir, 'model.json')).href, `file://./${rel}`, `file://${rel}`]) {
      await loadsAndFrees(source);
    }
    expect(tf.memory().numTensors).toBe(before);
    // fileLoadHandler takes the same forms.
    const artifacts = await fileLoadHandler(`file://./${rel}`).load!();
    expect(artifacts.weightSpecs?.length).toBe(12);
  });

  it('reads a folder as its model.json, as a path or a file:// URL', async () => {
    const before = tf.memory().numTensors;
    for (const source of [dir, `${dir}/`, pathToFileURL(dir).href, `file://./${relative(process.cwd(), dir)}`]) {
      await loadsAndFrees(source);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names loadBase in the errors raised while loading, whatever raised them', async () => {
    await expect(loadBase('file:model.json')).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadBase: source must be a path, or a file:// URL (file:///abs/model.json, file://./rel/model.json or file://rel/model.json), got "file:model.json"]`);
    await expect(loadBase('file:model.json')).rejects.toBeInstanceOf(InvalidArgumentError);
    const missing = loadBase(join(root, 'nowhere'));
    await expect(missing).rejects.toThrow(/^loadBase: cannot read model file .*nowhere(\/model\.json)? \(ENOENT/);
    // An empty folder: its model.json is missing.
    await mkdir(join(root, 'empty'));
    await expect(loadBase(join(root, 'empty'))).rejects.toThrow(/^loadBase: cannot read model file .*empty\/model\.json \(ENOENT/);
    // A safety refusal from the file handler keeps its class and gains the call's name.
    const evil = join(root, 'evil');
    await mkdir(evil);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../base/weights.bin'];
    await writeFile(join(evil, 'model.json'), JSON.stringify(json));
    const refused = loadBase(evil);
    await expect(refused).rejects.toBeInstanceOf(UnsafeModelError);
    await expect(refused).rejects.toThrow(/^loadBase: .*evil\/model\.json: weight path "\.\.\/base\/weights\.bin" escapes the model folder; refused$/);
  });
});
