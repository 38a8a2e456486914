import { defineConfig } from 'vitest/config';

// The browser end-to-end test: builds examples/browser with Vite and drives Debian's Chromium through it. Kept out of
// the default `npm test` (it needs /usr/bin/chromium and takes minutes under SwiftShader); run with `npm run test:e2e`.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/e2e/**/*.e2e.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 420_000,
    hookTimeout: 300_000,
  },
});
