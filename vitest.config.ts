import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: false,
    include: ['test/**/*.test.ts'],
    // Full-size checks (minutes on cpu) run in `npm run test:slow` (vitest.slow.config.ts), not in `npm test`.
    exclude: [...configDefaults.exclude, 'test/**/*.slow.test.ts'],
    setupFiles: ['test/setup.ts'],
    // tfjs kernels are CPU-bound and the machines have 2 cores: one worker per core, long timeouts for real models.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
