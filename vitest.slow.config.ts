import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config';

// `npm run test:slow`: the opt-in suite of full-size checks, files named test/**/*.slow.test.ts, which `npm test`
// leaves out. Same setup and pool as `npm test`, with a time budget for minutes-long tests (full-size models on the cpu
// backend of a busy 2-core machine). Tests here must still hand the event loop back every few seconds: vitest's worker
// RPC times out after 60 s of blocking, whatever testTimeout says.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/**/*.slow.test.ts'],
    exclude: [...configDefaults.exclude],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
