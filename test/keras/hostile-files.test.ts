/**
 * Hostile Keras files, generated at test time: a `.keras` zip bomb (honest and lying about its size), and HDF5 files
 * that h5wasm cannot read, which must fail with a LoadError carrying HDF5's reason and print nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { strFromU8, unzipSync, zipSync } from 'fflate';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { LoadError, loadKerasModel, loadKerasWeights } from '../../src/index';
import { fixture, tinyTwin } from './helpers';

/** tiny.keras's config.json with a model.weights.h5 of `size` zero bytes, deflated (64 MiB -> about 64 KiB). */
function bomb(size: number): Uint8Array {
  const files = unzipSync(new Uint8Array(readFileSync(fixture('tiny.keras'))));
  return zipSync(
    { 'config.json': files['config.json'] as Uint8Array, 'model.weights.h5': [new Uint8Array(size), { level: 9 }] },
    { level: 0 },
  );
}

/** Rewrites the uncompressed size that `zip` declares for `name` (local header and central directory) to `size`. */
function lieAboutSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const encoded = new TextEncoder().encode(name);
  for (let i = 0; i + 46 < out.length; i++) {
    const sig = view.getUint32(i, true);
    const nameAt = sig === 0x04034b50 ? i + 30 : sig === 0x02014b50 ? i + 46 : -1;
    if (nameAt < 0) continue;
    const nameLength = view.getUint16(sig === 0x04034b50 ? i + 26 : i + 28, true);
    if (nameLength !== encoded.length || !encoded.every((b, k) => out[nameAt + k] === b)) continue;
    view.setUint32(sig === 0x04034b50 ? i + 22 : i + 24, size, true);
  }
  return out;
}

describe('.keras zip bombs', () => {
  const MiB = 1024 * 1024;
  const archive = bomb(64 * MiB);

  test('the generated archive is small and inflates to 64 MiB', () => {
    expect(archive.byteLength).toBeLessThan(MiB);
    expect(strFromU8(unzipSync(archive, { filter: (f) => f.name === 'config.json' })['config.json']!)).toContain('"class_name"');
  });

  test('an entry that declares more than maxBytes is refused before inflating', async () => {
    const before = tf.memory().numTensors;
    await expect(loadKerasModel(archive, { maxBytes: 8 * MiB })).rejects.toThrowErrorMatchingInlineSnapshot(`[LoadError: loadKerasModel: model.weights.h5 in the .keras archive declares 67108864 bytes, more than the 8388608 allowed (maxBytes); refused before inflating]`);
    const model = tinyTwin();
    await expect(loadKerasWeights(model, archive, { maxBytes: 8 * MiB })).rejects.toThrow(/declares 67108864 bytes, more than the 8388608 allowed/);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an entry that declares a hundred times its compressed size (past 32 MiB) is refused before inflating', async () => {
    const compressed = archive.byteLength;
    await expect(loadKerasModel(archive)).rejects.toThrow(
      new RegExp(`^loadKerasModel: model\\.weights\\.h5 in the \\.keras archive declares 67108864 bytes from \\d+ compressed, more than 100 times as many; refused before inflating \\(a zip bomb\\)$`),
    );
    expect(compressed).toBeLessThan(MiB);
    // A real archive re-zipped with deflate (Keras itself stores entries uncompressed) still loads.
    const deflated = zipSync(unzipSync(new Uint8Array(readFileSync(fixture('tiny.keras')))), { level: 9 });
    const model = await loadKerasModel(deflated);
    model.dispose();
  });

  test('an entry that inflates past the size it declares is stopped there', async () => {
    const liar = lieAboutSize(archive, 'model.weights.h5', 4096);
    const heap = process.memoryUsage().arrayBuffers;
    await expect(loadKerasModel(liar)).rejects.toThrowErrorMatchingInlineSnapshot(`[LoadError: loadKerasModel: model.weights.h5 in the .keras archive inflates to more than the 4096 bytes it declares; refused (a zip bomb or a damaged archive)]`);
    // Stopped after one slice of output, far from the 64 MiB the entry would inflate to.
    expect(process.memoryUsage().arrayBuffers - heap).toBeLessThan(48 * MiB);
  });

  test('validates maxBytes', async () => {
    await expect(loadKerasModel(archive, { maxBytes: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadKerasModel: maxBytes must be a positive integer number of bytes, got 0]`);
  });
});

describe('unreadable HDF5 files', () => {
  const spies = () => [
    vi.spyOn(process.stdout, 'write'),
    vi.spyOn(process.stderr, 'write'),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m)),
  ];
  afterEach(() => vi.restoreAllMocks());

  /** HDF5 signature, then garbage: h5wasm's HDF5 prints a 12-frame error stack for it by default. */
  function garbageH5(): Uint8Array {
    const bytes = new Uint8Array(4096);
    bytes.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (let i = 8; i < bytes.length; i++) bytes[i] = (i * 37) & 255;
    return bytes;
  }

  test('fail with a LoadError carrying HDF5 reason, and nothing reaches the console, stdout or stderr', async () => {
    const model = tinyTwin();
    const watched = spies();
    const first = loadKerasWeights(model, garbageH5());
    await expect(first).rejects.toBeInstanceOf(LoadError);
    await expect(first).rejects.toThrowErrorMatchingInlineSnapshot(`[LoadError: loadKerasWeights: the data is not a readable HDF5 file (4096 bytes) (bad superblock version number)]`);
    // A real file cut in half opens or not depending on where the cut falls: either way, no output.
    const half = new Uint8Array(readFileSync(fixture('tiny.h5'))).slice(0, 12_000);
    await expect(loadKerasWeights(model, half)).rejects.toBeInstanceOf(LoadError);
    await expect(loadKerasModel(garbageH5())).rejects.toBeInstanceOf(LoadError);
    for (const spy of watched) expect(spy).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    // h5wasm is left as it was: a good file still loads.
    await expect(loadKerasWeights(model, fixture('tiny.h5'))).resolves.toBe(10);
    model.dispose();
  });
});
