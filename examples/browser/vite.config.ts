import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset paths, so the built app works from any folder or static host.
  base: './',
  resolve: {
    // One tfjs engine for the app and tl-kit, even when tl-kit is linked from a checkout instead of installed.
    dedupe: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-data', '@tensorflow/tfjs-backend-webgl'],
  },
  build: {
    // The app ships tfjs and tfjs-vis: large, but one file per library is fine for an example.
    chunkSizeWarningLimit: 4000,
    target: 'es2022',
  },
});
