/**
 * Where tl-kit runs. The one place that tells Node from a browser: file access, worker threads, sharp and native
 * peers (onnxruntime-node) are used only where {@link isNode} is true.
 */

interface ProcessLike {
  readonly versions?: { readonly node?: string };
}

/**
 * True in Node (and Node-compatible runtimes that set `process.versions.node`) outside a browser window. A page that
 * polyfills `process` (some bundlers do) or an Electron renderer, which both have a `window`, count as browsers.
 */
export function isNode(): boolean {
  const proc = (globalThis as { process?: ProcessLike }).process;
  return typeof proc?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}
