import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { relativeError } from '../runtime/helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileLoadHandler, fileSaveHandler } from '../../src/io/file-handler';
import { writeFolderAtomic } from '../../src/io/atomic';
import { Wrapper } from '../../src/models/wrapper';
import { randomImages, tinyConvBnBase } from '../fixtures/bases';

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-file-'));
  modelDir = join(root, 'base');
  const base = tinyConvBnBase();
  await base.save(fileSaveHandler(modelDir));
  base.dispose();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The rejection's class and message with the temporary root replaced by <tmp>, for stable snapshots. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message.split(root).join('<tmp>')}`;
  }
  return 'resolved';
}

/** Copies the saved base into a fresh folder and lets `edit` change its model.json. */
async function variant(name: string, edit: (json: { weightsManifest: { paths: string[] }[] }) => void): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
  edit(json);
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(join(dir, 'weights.bin'), await readFile(join(modelDir, 'weights.bin')));
  return join(dir, 'model.json');
}

describe('fileSaveHandler / fileLoadHandler', () => {
  it('round-trips a Wrapper model through a folder, without tfjs-node', async () => {
    const model = Wrapper(tinyConvBnBase(), { numClasses: 3 });
    const dir = join(root, 'classifier');
    const result = await model.save(fileSaveHandler(dir));
    expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(0);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await readdir(root)).filter((n) => n.includes('.tmp-') || n.includes('.old-'))).toEqual([]);
    const before = tf.memory().numTensors;
    const reloaded = await tfl.loadLayersModel(fileLoadHandler(pathToFileURL(join(dir, 'model.json')).href));
    const images = randomImages(2);
    const a = model.predict(images) as tf.Tensor;
    const b = reloaded.predict(images) as tf.Tensor;
    // Plain tfjs runs the saved (standard) base layer by layer, the Wrapper its fused executor: equal up to rounding.
    expect(relativeError(b, a)).toBeLessThan(1e-5);
    tf.dispose([images, a, b]);
    reloaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('replaces an existing model folder and refuses a folder that is not a model', async () => {
    const base = tinyConvBnBase({ seed: 9 });
    const dir = join(root, 'replace');
    await base.save(fileSaveHandler(dir));
    await base.save(fileSaveHandler(dir));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const other = join(root, 'photos');
    await mkdir(other);
    await writeFile(join(other, 'cat.jpg'), 'not a model');
    expect(await failure(base.save(fileSaveHandler(other)))).toMatchInlineSnapshot(`"InvalidArgumentError: fileSaveHandler: dir must be a new or empty folder, or one holding a saved model (it has 1 entries and no model.json), got "<tmp>/photos""`);
    // A folder below a file cannot be inspected: a LoadError that keeps the fs error, not a bare ENOTDIR.
    const below = base.save(fileSaveHandler(join(other, 'cat.jpg', 'model')));
    expect(await failure(below)).toMatchInlineSnapshot(`"LoadError: fileSaveHandler: cannot write the model to <tmp>/photos/cat.jpg/model: a part of the path is a file, not a folder (ENOTDIR: not a directory, stat '<tmp>/photos/cat.jpg/model'); nothing was written there"`);
    await expect(below).rejects.toHaveProperty('cause.code', 'ENOTDIR');
    base.dispose();
  });

  it("refuses to replace a saved model's folder that also holds other files, and keeps them", async () => {
    const base = tinyConvBnBase({ seed: 10 });
    const dir = join(root, 'with-notes');
    await base.save(fileSaveHandler(dir, { extraFiles: [{ name: 'labels.txt', data: 'a\n' }] }));
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await writeFile(join(dir, '.DS_Store'), 'finder');
    const refused = base.save(fileSaveHandler(dir, { extraFiles: [{ name: 'labels.txt', data: 'b\n' }] }));
    expect(await failure(refused)).toMatchInlineSnapshot(`"InvalidArgumentError: fileSaveHandler: dir must be a folder holding only a saved model's files, since saving replaces the folder whole (it also holds notes.txt; move them out or save elsewhere), got "<tmp>/with-notes""`);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await readFile(join(dir, 'labels.txt'), 'utf8')).toBe('a\n');
    // Without the foreign file the save goes through; labels.txt of the earlier save is this save's too.
    await rm(join(dir, 'notes.txt'));
    await base.save(fileSaveHandler(dir, { extraFiles: [{ name: 'labels.txt', data: 'b\n' }] }));
    expect(await readFile(join(dir, 'labels.txt'), 'utf8')).toBe('b\n');
    // Weight files a converter named in the manifest belong to the model.
    const converted = join(root, 'converted');
    await mkdir(converted);
    await writeFile(join(converted, 'group1-shard1of1.bin'), new Uint8Array(4));
    await writeFile(join(converted, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }] }));
    await base.save(fileSaveHandler(converted));
    expect((await readdir(converted)).sort()).toEqual(['model.json', 'weights.bin']);
    base.dispose();
  });

  it('an interrupted write leaves the old folder intact and no temporary folder behind', async () => {
    const dir = join(root, 'atomic');
    await writeFolderAtomic(dir, [{ name: 'a.txt', data: 'old' }]);
    await expect(
      writeFolderAtomic(dir, [
        { name: 'a.txt', data: 'new' },
        { name: 'a.txt', data: 'a second file of the same name fails' },
      ]),
    ).rejects.toThrow();
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('old');
    expect((await readdir(root)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('fileLoadHandler safety', () => {
  const load = (path: string) => fileLoadHandler(path).load!();

  it('refuses weight paths that escape the model folder', async () => {
    const dotdot = await variant('dotdot', (j) => (j.weightsManifest[0]!.paths = ['../base/weights.bin']));
    expect(await failure(load(dotdot))).toMatchInlineSnapshot(`"UnsafeModelError: <tmp>/dotdot/model.json: weight path "../base/weights.bin" escapes the model folder; refused"`);
    const absolute = await variant('absolute', (j) => (j.weightsManifest[0]!.paths = [join(modelDir, 'weights.bin')]));
    await expect(load(absolute)).rejects.toMatchObject({ name: 'UnsafeModelError' });
    const host = await variant('host', (j) => (j.weightsManifest[0]!.paths = ['https://evil.example/weights.bin']));
    expect(await failure(load(host))).toMatchInlineSnapshot(`"UnsafeModelError: <tmp>/host/model.json: weight path "https://evil.example/weights.bin" points to another location (a URL or host); refused"`);
    const encoded = await variant('encoded', (j) => (j.weightsManifest[0]!.paths = ['%2e%2e/base/weights.bin']));
    await expect(load(encoded)).rejects.toMatchObject({ name: 'UnsafeModelError' });
  });

  it('refuses a symlinked shard that points outside the folder', async () => {
    const json = await variant('symlinked', (j) => (j.weightsManifest[0]!.paths = ['link.bin']));
    await symlink(join(modelDir, 'weights.bin'), join(root, 'symlinked', 'link.bin'));
    await expect(load(json)).rejects.toMatchObject({ name: 'UnsafeModelError' });
  });

  it('refuses shards whose size disagrees with the manifest, before reading them', async () => {
    const json = await variant('truncated', () => undefined);
    const size = (await stat(join(root, 'truncated', 'weights.bin'))).size;
    await truncate(join(root, 'truncated', 'weights.bin'), size - 4);
    await expect(load(json)).rejects.toThrow(/hold \d+ bytes but the manifest's shapes and dtypes need \d+; refused/);
  });

  it('names a missing shard and an unreadable model.json', async () => {
    const json = await variant('missing', (j) => (j.weightsManifest[0]!.paths = ['weights.bin', 'shard2.bin']));
    await expect(load(json)).rejects.toMatchObject({
      name: 'LoadError',
      message: expect.stringContaining("weight shard 'shard2.bin' is missing"),
    });
    await expect(load(join(root, 'nowhere', 'model.json'))).rejects.toMatchObject({ name: 'LoadError' });
    await writeFile(join(root, 'bad.json'), '{ not json');
    await expect(load(join(root, 'bad.json'))).rejects.toMatchObject({ name: 'LoadError' });
    expect(() => fileLoadHandler('')).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fileLoadHandler: pathToModelJson must be a file path or file:// URL, got ""]`);
  });
});
