/**
 * Worker-thread entry of the worker-pool runtime (Node only; built as `dist/speed-worker.js` / `.cjs`). Loads its own
 * copy of the frozen base on the main thread's backend, runs the tfjs runtime on the batches it is sent, in order,
 * and sends pooled features back.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit, WorkerReply, WorkerRequest } from './protocol';
import { tfjsLayersRuntime } from './tfjs-runtimes';
import type { FrozenRuntime } from './types';

const port = parentPort;
if (port === null) throw new Error('tl-kit worker: must run in a worker thread');
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);

async function selectBackend(backend: WorkerInit['backend']): Promise<void> {
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries sit next to the package's dist entry; resolve them from where this worker lives.
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(`${pathToFileURL(dir).href}/`);
  } else {
    await import('@tensorflow/tfjs-backend-cpu');
  }
  if (!(await tf.setBackend(backend))) throw new Error(`backend '${backend}' failed to initialise`);
  await tf.ready();
}

async function start(init: WorkerInit): Promise<FrozenRuntime> {
  if (init.prod) tf.env().set('PROD', true);
  await selectBackend(init.backend);
  // The base arrives as a standard layers model (tl-kit's own classes serialise under tfjs's names).
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: init.modelTopology,
      weightSpecs: init.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: init.weightData,
    }),
  );
  const shape = (model.inputs[0] as tfl.SymbolicTensor).shape.slice(1) as [number, number, number];
  return tfjsLayersRuntime(model, { inputShape: shape, pooling: init.pooling, fused: init.fused });
}

start(workerData as WorkerInit).then(
  (runtime) => {
    port.on('message', (request: WorkerRequest) => {
      void (async () => {
        const x = tf.tensor4d(request.data, request.shape as [number, number, number, number]);
        try {
          const y = await runtime.extract(x);
          try {
            // A copy: the cpu backend hands out the tensor's own storage, which must not be detached by transfer.
            const data = new Float32Array(await y.data<'float32'>());
            post({ type: 'result', id: request.id, data, shape: y.shape }, [data.buffer]);
          } finally {
            y.dispose();
          }
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          post({ type: 'error', id: request.id, message: e.message, stack: e.stack });
        } finally {
          x.dispose();
        }
      })();
    });
    post({ type: 'ready' });
  },
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ type: 'error', id: null, message: e.message, stack: e.stack });
  },
);
