/**
 * writeReport on a full disk (ENOSPC injected into the atomic file writer): a typed error that says what was kept,
 * the previous report files untouched, and no temporary file left behind.
 */
import * as fsp from 'node:fs/promises';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LoadError } from '../../src/errors';
import { setAtomicFs, type AtomicFs } from '../../src/io/atomic';
import { writeReport } from '../../src/report/write-report';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
afterEach(() => setAtomicFs(undefined));

const history = (loss: number[]) => ({ history: { loss, acc: loss.map((l) => 1 - l) } });

/** Writes of files whose name contains `name` fail with ENOSPC after half of the data. */
function fullDiskFor(name: string): AtomicFs {
  return {
    ...fsp,
    open: (async (path: string, flags?: string | number, mode?: number) => {
      const handle = await fsp.open(path, flags, mode);
      if (!String(path).includes(name)) return handle;
      return Object.assign(Object.create(handle) as typeof handle, {
        writeFile: async (data: string) => {
          await handle.writeFile(data.slice(0, data.length >> 1));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
        sync: () => handle.sync(),
        close: () => handle.close(),
      });
    }) as AtomicFs['open'],
  };
}

describe('writeReport on a full disk', () => {
  it('throws a LoadError that says the previous file was kept, and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-report-full-'));
    dirs.push(dir);
    await writeReport(dir, { histories: { run: history([1, 0.5]) } });
    const before = await readFile(join(dir, 'report.html'), 'utf8');
    setAtomicFs(fullDiskFor('report.html'));
    const failed = writeReport(dir, { histories: { run: history([0.9, 0.4, 0.2]) }, title: 'second' });
    await expect(failed).rejects.toBeInstanceOf(LoadError);
    await expect(failed).rejects.toHaveProperty('cause.code', 'ENOSPC');
    await expect(failed).rejects.toThrow(
      /^writeReport: cannot write the report to .*: the disk is full \(ENOSPC\); the previous version there is kept unchanged and the partial copy was removed$/,
    );
    expect((await readdir(dir)).sort()).toEqual(['accuracy.svg', 'loss.svg', 'report.html']);
    expect(await readFile(join(dir, 'report.html'), 'utf8')).toBe(before);
  });
});
