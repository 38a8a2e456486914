/**
 * Selects the tfjs backend for the whole suite: `cpu` by default, `TLKIT_BACKEND=wasm` for the wasm backend.
 * Importing the backends here (not in the library) mirrors what a user's app does.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll } from 'vitest';

const require = createRequire(import.meta.url);
const backend = process.env.TLKIT_BACKEND ?? 'cpu';

// tfjs backends print a "use tfjs-node" banner through tfjs's warn(); PROD mode keeps it (and other warn() noise) out of test output.
tf.env().set('PROD', true);

beforeAll(async () => {
  if (backend === 'wasm') {
    const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(pathToFileURL(wasmDir).href + '/');
  }
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`test setup: backend '${backend}' failed to initialise`);
  await tf.ready();
});
