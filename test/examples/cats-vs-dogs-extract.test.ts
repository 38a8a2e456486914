import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UnsafeArchiveError, extractZip, safeEntryPath } from '../../examples/cats-vs-dogs/extract';
import { makeZip } from './zip-fixture';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tlkit-zip-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('cats-vs-dogs example: zip extraction', () => {
  it('extracts a PetImages-shaped archive and reuses the finished folder', async () => {
    const dir = await tempDir();
    const zipPath = join(dir, 'pets.zip');
    await writeFile(
      zipPath,
      makeZip([
        { name: 'PetImages/', data: '' },
        { name: 'PetImages/Cat/0.jpg', data: 'cat bytes' },
        { name: 'PetImages/Dog/0.jpg', data: 'dog bytes' },
        { name: 'PetImages/Dog/Thumbs.db', data: 'junk' },
        { name: 'readme[1].txt', data: 'about' },
      ]),
    );
    const dest = join(dir, 'out');
    const result = await extractZip(zipPath, dest, { filter: (name) => name.endsWith('.jpg') });
    expect(result).toEqual({ dest, files: 2, cached: false });
    expect(await readFile(join(dest, 'PetImages', 'Dog', '0.jpg'), 'utf8')).toBe('dog bytes');
    expect(existsSync(join(dest, 'PetImages', 'Dog', 'Thumbs.db'))).toBe(false);
    expect(await extractZip(zipPath, dest)).toEqual({ dest, files: 0, cached: true });
    expect((await readdir(dir)).sort()).toEqual(['out', 'pets.zip']);
  });

  it.each([
    ['../evil.txt', "'..' path segment"],
    ['PetImages/../../evil.txt', "'..' path segment"],
    ['/etc/evil.txt', 'absolute path'],
    ['C:/evil.txt', 'absolute path'],
    ['..\\evil.txt', "'..' path segment"],
  ])('refuses the whole archive when an entry is named %j', async (name, reason) => {
    const dir = await tempDir();
    const zipPath = join(dir, 'evil.zip');
    await writeFile(zipPath, makeZip([{ name: 'PetImages/Cat/0.jpg', data: 'ok' }, { name, data: 'pwned' }]));
    const dest = join(dir, 'sub', 'out');
    const error = await extractZip(zipPath, dest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeArchiveError);
    expect((error as Error).message).toContain(reason);
    // Nothing was written, not even the safe entry, and nothing escaped.
    expect(existsSync(join(dir, 'sub'))).toBe(false);
    expect(existsSync(join(dir, 'evil.txt'))).toBe(false);
  });

  it('refuses symbolic-link entries, which could redirect later writes outside the folder', async () => {
    const dir = await tempDir();
    const zipPath = join(dir, 'link.zip');
    await writeFile(
      zipPath,
      makeZip([
        { name: 'PetImages/link', data: '/tmp', symlink: true },
        { name: 'PetImages/link/evil.txt', data: 'pwned' },
      ]),
    );
    await expect(extractZip(zipPath, join(dir, 'out'))).rejects.toThrowErrorMatchingInlineSnapshot(
      `[UnsafeArchiveError: refusing archive entry 'PetImages/link': symbolic link entry]`,
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('maps safe names inside the root and nothing else', () => {
    expect(safeEntryPath('/data/out', 'PetImages/Cat/1.jpg')).toBe('/data/out/PetImages/Cat/1.jpg');
    expect(() => safeEntryPath('/data/out', 'a/\0b')).toThrow(/NUL/);
    expect(() => safeEntryPath('/data/out', '.')).toThrow(/outside/);
  });
});
