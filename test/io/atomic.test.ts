/**
 * Saving is transactional. A child process saves a classifier folder in a loop with slowed renames and is killed with
 * SIGKILL at seeded random moments; after every kill the folder must load as one complete version (model.json,
 * weights.bin and metadata.json of the same save) and the dead child's temporary and old folders must be gone. A
 * reader running next to a live, slow save must always find a complete version. A full disk (ENOSPC, injected) must
 * be a typed error that says what was kept, and leave no temporary file.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LoadError } from '../../src/errors';
import { loadClassifier } from '../../src/classifier/load';
import { saveClassifier } from '../../src/classifier/save';
import { ownHost, setAtomicFs, writeFolderAtomic, type AtomicFs } from '../../src/io/atomic';
import { fileLoadHandler, fileSaveHandler } from '../../src/io/file-handler';
import { createRng } from '../../src/internal/rng';
import { Wrapper } from '../../src/models/wrapper';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';

const here = dirname(fileURLToPath(import.meta.url));
let root: string;
let child: string;
let spec: { modelJson: Record<string, unknown>; metadata: Record<string, unknown>; floats: number };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tlkit-atomic-'));
  // The child runs as plain JavaScript: one bundle, so that each start costs tens of milliseconds, not a TS loader.
  const { build } = await import('esbuild');
  child = join(root, 'save-loop.mjs');
  await build({
    entryPoints: [join(here, 'children', 'save-loop.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: child,
    logLevel: 'silent',
  });
  const data = makeTestSource();
  const model = Wrapper(tinyConvBnBase(), { seed: 1 });
  await saveClassifier(model, data, join(root, 'template'));
  model.dispose();
  data.dispose();
  const modelJson = JSON.parse(await readFile(join(root, 'template', 'model.json'), 'utf8'));
  const metadata = JSON.parse(await readFile(join(root, 'template', 'metadata.json'), 'utf8'));
  const floats = (await readFile(join(root, 'template', 'weights.bin'))).byteLength / 4;
  spec = { modelJson, metadata, floats };
  await writeFile(join(root, 'spec.json'), JSON.stringify(spec));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => setAtomicFs(undefined));

/** The files of version `v` of the classifier, as the child writes them. */
function version(v: number) {
  const labels = [`a${v}`, `b${v}`];
  const modelJson = structuredClone(spec.modelJson) as { userDefinedMetadata: { tlKit: { labels: string[] } } };
  modelJson.userDefinedMetadata.tlKit.labels = labels;
  return [
    { name: 'model.json', data: JSON.stringify(modelJson) },
    { name: 'weights.bin', data: new Uint8Array(new Float32Array(spec.floats).fill(v).buffer) },
    { name: 'metadata.json', data: JSON.stringify({ ...spec.metadata, labels }) },
  ];
}

/** Loads `dir` with loadClassifier and returns the version it holds; fails on a mix of versions. */
async function loadedVersion(dir: string): Promise<number> {
  const classifier = await loadClassifier(dir);
  try {
    const v = Number(classifier.labelNames[0]!.slice(1));
    expect(classifier.labelNames).toEqual([`a${v}`, `b${v}`]);
    for (const w of classifier.model.getWeights()) expect(new Set(w.dataSync())).toEqual(new Set([v]));
    const metadata = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8'));
    expect(metadata.labels).toEqual(classifier.labelNames);
    return v;
  } finally {
    await classifier.dispose();
  }
}

const sidecars = async (parent: string) => (await readdir(parent)).filter((n) => /\.(tmp|old)-/.test(n));

/** A file system whose writes of files named `name` fail with ENOSPC. */
function fullDiskFor(name: string): AtomicFs {
  return {
    ...fsp,
    open: (async (path: string, flags?: string | number, mode?: number) => {
      const handle = await fsp.open(path, flags, mode);
      if (!String(path).endsWith(name)) return handle;
      return Object.assign(Object.create(handle) as typeof handle, {
        writeFile: async () => {
          throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', errno: -28 });
        },
        sync: () => handle.sync(),
        close: () => handle.close(),
      });
    }) as AtomicFs['open'],
  };
}

describe('saving is transactional', () => {
  it('after kill -9 at random moments of a save loop (slowed renames or not), the folder loads as one complete version, and stale folders go', async () => {
    const parent = join(root, 'kills');
    const target = join(parent, 'classifier');
    await mkdir(parent);
    await writeFolderAtomic(target, version(0));
    const rng = createRng(14);
    const kills = 12;
    let midSwitch = 0;
    let previous = 0;
    for (let k = 0; k < kills; k++) {
      // Half the children pause 60 ms between the renames (a slow file system), half run at full speed, so that kills
      // land in every phase: writing the new version, either rename, removing the old one.
      const gap = rng.next() < 0.5 ? '60' : '0';
      const proc = spawn(process.execPath, [child, target, join(root, 'spec.json'), gap], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        const check = () => (output.includes('ready') ? resolve() : undefined);
        proc.stdout.on('data', check);
        proc.once('exit', () => reject(new Error(`child exited early: ${output}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.floor(rng.next() * 150)));
      proc.kill('SIGKILL');
      await exited;
      const pid = String(proc.pid);
      if (!(await readdir(parent)).includes('classifier')) midSwitch++;
      const v = await loadedVersion(target);
      // The last version the child reported saved (or, if none, what the folder held before it), or the one it was
      // saving when killed: complete previous or complete new, nothing else. Each child counts from version 1.
      const saved = [...output.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      const last = saved.length > 0 ? Math.max(...saved) : previous;
      expect([last, saved.length > 0 ? last + 1 : 1]).toContain(v);
      previous = v;
      expect((await sidecars(parent)).filter((n) => n.includes(`-${pid}-`))).toEqual([]);
    }
    // The slowed window was hit: some kills left no folder at all where the loader looks, and it still loaded.
    expect(midSwitch).toBeGreaterThan(0);
  });

  it('a reader next to a live save that is between its two renames reads a complete version', async () => {
    const target = join(root, 'live', 'model');
    await writeFolderAtomic(target, version(1));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    setAtomicFs({
      ...fsp,
      rename: async (from, to) => {
        await fsp.rename(from, to);
        if (String(to).includes('.old-')) await sleep(80);
      },
    });
    let done = false;
    const save = writeFolderAtomic(target, version(2)).finally(() => (done = true));
    const seen = new Set<number>();
    let reads = 0;
    const before = tf.memory().numTensors;
    while (!done) {
      const artifacts = await fileLoadHandler(target).load!();
      const labels = (artifacts.userDefinedMetadata as { tlKit: { labels: string[] } }).tlKit.labels;
      const weights = new Float32Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData!));
      const v = Number(labels[0]!.slice(1));
      expect(new Set(weights)).toEqual(new Set([v]));
      seen.add(v);
      reads++;
      await sleep(3);
    }
    await save;
    expect(reads).toBeGreaterThan(5);
    expect(seen.has(1)).toBe(true); // read from the moved-aside version while the folder was missing
    expect(tf.memory().numTensors).toBe(before);
    expect(await loadedVersion(target)).toBe(2);
  });

  it('the next save or load removes temporary and old folders of dead processes, and leaves live ones', async () => {
    const parent = join(root, 'stale');
    const target = join(parent, 'model');
    await writeFolderAtomic(target, version(3));
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.once('exit', resolve));
    // Names as tl-kit writes them, with the dead child's pid (or this live process's) and this machine's host tag.
    const tag = await ownHost();
    const stale = [`.model.tmp-${dead.pid}-${tag}-aaaaaaaa`, `.model.old-${dead.pid}-${tag}-bbbbbbbb`];
    const live = `.model.tmp-${process.pid}-${tag}-cccccccc`;
    for (const name of [...stale, live]) await mkdir(join(parent, name, 'inner'), { recursive: true });
    expect(await loadedVersion(target)).toBe(3);
    expect((await sidecars(parent)).sort()).toEqual([live]);
    // A crashed switch (target gone, previous version in .old-*) is undone by the next save before it writes.
    await fsp.rename(target, join(parent, `.model.old-${dead.pid}-${tag}-dddddddd`));
    await fileSaveHandler(target).save!({ modelTopology: { a: 1 }, weightSpecs: [], weightData: new ArrayBuffer(0) });
    expect((await sidecars(parent)).sort()).toEqual([live]);
    await rm(join(parent, live), { recursive: true });
  });
});

describe('a full disk', () => {
  it('is a LoadError that says the previous model was kept, and no temporary folder stays', async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase(), { seed: 1 });
    const parent = join(root, 'full');
    const dest = join(parent, 'classifier');
    await saveClassifier(model, { ...data, labelNames: ['old0', 'old1'] }, dest);
    // metadata.json is written inside the new version, before the switch: a full disk there keeps the old model whole.
    setAtomicFs(fullDiskFor('metadata.json'));
    const failed = saveClassifier(model, data, dest);
    await expect(failed).rejects.toBeInstanceOf(LoadError);
    await expect(failed).rejects.toHaveProperty('cause.code', 'ENOSPC');
    await expect(failed).rejects.toThrow(
      /^fileSaveHandler: cannot write the model to .*classifier: the disk is full \(ENOSPC\); the previous version there is kept unchanged and the partial copy was removed$/,
    );
    setAtomicFs(undefined);
    const classifier = await loadClassifier(dest);
    expect(classifier.labelNames).toEqual(['old0', 'old1']);
    await classifier.dispose();
    expect(JSON.parse(await readFile(join(dest, 'metadata.json'), 'utf8')).labels).toEqual(['old0', 'old1']);
    expect(await sidecars(parent)).toEqual([]);
    // With nothing there before, the message says nothing was written.
    setAtomicFs(fullDiskFor('weights.bin'));
    await expect(saveClassifier(model, data, join(parent, 'fresh'))).rejects.toThrow(/the disk is full \(ENOSPC\); nothing was written there/);
    expect((await readdir(parent)).sort()).toEqual(['classifier']);
    model.dispose();
    data.dispose();
  });

  it('fileSaveHandler writes extraFiles into the same version, and refuses unsafe names', async () => {
    const dir = join(root, 'extra');
    const extraFiles = [
      { name: 'labels.txt', data: 'a\nb\n' },
      { name: 'base/model.json', data: '{}' },
    ];
    await fileSaveHandler(dir, { extraFiles }).save!({ modelTopology: { a: 1 }, weightSpecs: [], weightData: new ArrayBuffer(0) });
    expect((await readdir(dir)).sort()).toEqual(['base', 'labels.txt', 'model.json', 'weights.bin']);
    expect(await readFile(join(dir, 'base', 'model.json'), 'utf8')).toBe('{}');
    for (const name of ['../x', '.hidden', 'a/../b', 'a/.b', '/abs', 'model.json', 'WEIGHTS.BIN', 'a\\b']) {
      expect(() => fileSaveHandler(dir, { extraFiles: [{ name, data: 'x' }] })).toThrow(/^fileSaveHandler: extraFiles must be/);
    }
    const clash = [{ name: 'x', data: '' }, { name: 'x/y', data: '' }];
    expect(() => fileSaveHandler(dir, { extraFiles: clash })).toThrow(/^fileSaveHandler: extraFiles must be .*got "x"$/);
  });
});
