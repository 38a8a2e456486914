/** Runs a test body on a named backend and restores the suite's backend afterwards. */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

export async function withBackend<T>(name: 'cpu' | 'wasm', body: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  if (name === 'wasm') {
    setWasmPaths(pathToFileURL(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))).href + '/');
  }
  if (!(await tf.setBackend(name))) throw new Error(`withBackend: backend '${name}' failed to initialise`);
  try {
    return await body();
  } finally {
    await tf.setBackend(previous);
  }
}
