/**
 * writeReport without the optional peers vega and vega-lite: a typed error that says what to install, and nothing
 * written. The import is mocked here, so this file is kept apart from the report tests that draw real charts.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/internal/optional-import', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/internal/optional-import')>();
  return {
    ...actual,
    importOptional: async (specifier: string) => {
      if (specifier === 'vega') throw Object.assign(new Error("Cannot find package 'vega'"), { code: 'ERR_MODULE_NOT_FOUND' });
      return actual.importOptional(specifier);
    },
  };
});

const { writeReport } = await import('../../src/report/write-report');
const { UnsupportedError } = await import('../../src/errors');

describe('writeReport without vega', () => {
  it('throws UnsupportedError naming the packages to install, keeps the cause, and writes nothing', async () => {
    const dir = join(tmpdir(), `tlkit-report-no-vega-${process.pid}`);
    const run = writeReport(dir, { histories: { run: { history: { loss: [1, 0.5] } } } });
    await expect(run).rejects.toBeInstanceOf(UnsupportedError);
    await expect(run).rejects.toThrowErrorMatchingInlineSnapshot(`[UnsupportedError: writeReport: drawing the report's charts needs the optional peer dependencies 'vega' and 'vega-lite' (npm install vega@^6 vega-lite@^6)]`);
    const error = (await run.catch((e: unknown) => e)) as Error;
    expect((error.cause as Error).message).toContain("'vega'");
    expect(existsSync(dir)).toBe(false);
  });
});
