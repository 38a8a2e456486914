/**
 * Where the tool's models run: the tfjs backend of `--backend`, imported from the user's installed packages. The
 * runtime flags (RUNTIME_OPTIONS in usage.ts, read into {@link RuntimeFlags} by flags.ts) take effect here.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedError } from '../errors';
import { ensureReportRenderer } from '../report/vega';
import { importOptional, isModuleNotFound } from '../internal/optional-import';
import { BACKEND_NAMES, type BackendName, type RuntimeFlags } from './flags';

/** The packages that provide each backend, in the order they are tried. */
const PACKAGES: Readonly<Record<BackendName, readonly string[]>> = {
  tensorflow: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  cpu: ['@tensorflow/tfjs-backend-cpu'],
};

/** Imports the first of `packages` that is installed; undefined when none is. */
async function importFirst(packages: readonly string[]): Promise<{ name: string; module: unknown } | undefined> {
  for (const name of packages) {
    try {
      return { name, module: await importOptional<unknown>(name) };
    } catch (err) {
      if (!isModuleNotFound(err)) throw err;
    }
  }
  return undefined;
}

/** Points the wasm backend at its .wasm files, next to the package's JS. */
function setWasmPaths(module: unknown): void {
  const ns = module as { setWasmPaths?: (prefix: string) => void; default?: { setWasmPaths?: (prefix: string) => void } };
  const set = ns.setWasmPaths ?? ns.default?.setWasmPaths;
  const require = createRequire(import.meta.url);
  const wasm = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  set?.(`${pathToFileURL(dirname(wasm)).href}/`);
}

/**
 * Imports and selects the backend of `runtime`, and returns its name.
 *
 * @throws {@link UnsupportedError} when its package is not installed (or none is, for `auto`) or it fails to start.
 */
export async function startRuntime(runtime: RuntimeFlags): Promise<string> {
  // tfjs's backends print a "use tfjs-node" banner through its warn(); PROD mode keeps it out of the tool's output.
  tf.env().set('PROD', true);
  const candidates = runtime.backend === 'auto' ? BACKEND_NAMES : [runtime.backend];
  for (const name of candidates) {
    const found = await importFirst(PACKAGES[name]);
    if (found === undefined) continue;
    if (name === 'wasm') setWasmPaths(found.module);
    if (!(await tf.setBackend(name))) throw new UnsupportedError(`tl-kit: the ${name} backend (${found.name}) failed to initialise`);
    await tf.ready();
    return name;
  }
  if (runtime.backend === 'auto') {
    throw new UnsupportedError(
      'tl-kit: no tfjs backend is installed; install one: npm install @tensorflow/tfjs-backend-wasm ' +
        '(or @tensorflow/tfjs-backend-cpu, or @tensorflow/tfjs-node where it installs)',
    );
  }
  const wanted = PACKAGES[runtime.backend][0] as string;
  throw new UnsupportedError(`tl-kit: --backend ${runtime.backend} needs the package ${wanted}; install it: npm install ${wanted}`);
}

/**
 * Refuses to start a command whose HTML report could not be drawn (vega and vega-lite missing), before any slow work,
 * saying how to install them or skip the report.
 *
 * @throws {@link UnsupportedError} when the charting packages cannot be imported.
 */
export async function checkReportPackages(command: string): Promise<void> {
  try {
    await ensureReportRenderer(command);
  } catch (err) {
    if (!(err instanceof UnsupportedError)) throw err;
    throw new UnsupportedError(`${err.message}; or pass --no-report to train without the report`, { cause: err });
  }
}
