/**
 * `loadBase`: get a pretrained base from a registry name, a URL, a file or an IOHandler, as a {@link BaseSpec} that
 * `Wrapper` takes.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import type { Progress } from '../progress';
import { InvalidArgumentError, LoadError, TlKitError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { fileLoadHandlerFor, toFsPath } from '../io/file-handler';
import { layersModelFromArtifacts } from './load-layers';
import { loadGraph, type GraphModelLoader } from './load-graph';
import { isNode } from '../internal/env';
import { checkHttpLoadOptions, httpLoadHandler } from '../io/http';
import type { BaseSpec, GraphModelLike } from './base-spec';
import { registerTlKitClasses } from './wrapper-model';
import { findKnownBase, KNOWN_BASES, type KnownBase } from './registry';
import { closestNames } from '../internal/suggest';
import { rootReason } from '../internal/cause';
import { namedBy } from '../internal/named-error';

/**
 * Options of {@link loadBase}. Options override what the registry (for a known name) says.
 *
 * @category bases
 */
export interface LoadBaseOptions {
  /**
   * `[height, width, channels]` the base expects.
   * @defaultValue the registry's, else the model's declared input size
   */
  readonly inputShape?: readonly [number, number, number];
  /**
   * Pixel scaling the base was trained with.
   * @defaultValue the registry's, else `'tf'` ([-1, 1], the Keras/TF convention)
   */
  readonly preprocessing?: PreprocessingMode;
  /**
   * Layer to cut a layers model at by default in `Wrapper`.
   * @defaultValue the registry's, else none (the model's own output)
   */
  readonly cutAt?: string;
  /**
   * Output node of a graph model to use as features.
   * @defaultValue the graph's first output
   */
  readonly outputNode?: string;
  /**
   * Name recorded in the spec.
   * @defaultValue the registry name, else the source
   */
  readonly name?: string;
  /**
   * Model format; `'auto'` reads it from the model.json (`format: 'graph-model'` or a GraphDef topology).
   * @defaultValue 'auto'
   */
  readonly format?: 'auto' | 'layers' | 'graph';
  /**
   * Download cache folder for http(s) sources in Node, or `false` for none.
   * @defaultValue `$TLKIT_CACHE_DIR`, else `~/.cache/tl-kit/models` (XDG-aware)
   */
  readonly cacheDir?: string | false;
  /**
   * fetch function for http(s) sources.
   * @defaultValue `globalThis.fetch`
   */
  readonly fetch?: typeof fetch;
  /**
   * Download progress for http(s) sources: `{ phase: 'download', done, total }` counting files (the model.json, then
   * each weight shard).
   * @defaultValue none
   */
  readonly onProgress?: (progress: Progress<'download'>) => void;
  /**
   * For http(s) sources: longest wait, in milliseconds, for each response and for each chunk of a body.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number;
  /**
   * For http(s) sources: more origins (`https://host[:port]`) that redirects may lead to, besides the model.json's
   * own (a registry entry adds the hosts its provider redirects to).
   * @defaultValue none
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Builds a graph model from an IOHandler: pass `loadGraphModel` from `@tensorflow/tfjs-converter`. Needed in a
   * browser bundle (tl-kit keeps the optional converter out of bundlers' sight, so an app that loads no graph model
   * need not install it); in Node the converter is imported by itself when installed.
   * @defaultValue tfjs-converter's `loadGraphModel`, imported at run time in Node
   */
  readonly loadGraphModel?: GraphModelLoader;
}

export type { GraphModelLoader } from './load-graph';

const CALL = 'loadBase';

/** Every LoadBaseOptions name, so a misspelt one is refused. */
const OPTION_KEYS: Readonly<Record<keyof LoadBaseOptions, true>> = {
  inputShape: true,
  preprocessing: true,
  cutAt: true,
  outputNode: true,
  name: true,
  format: true,
  cacheDir: true,
  fetch: true,
  onProgress: true,
  timeoutMs: true,
  allowedOrigins: true,
  loadGraphModel: true,
};

/**
 * Loads a pretrained base: a registry name (see {@link KNOWN_BASES}), an `http(s)://` URL, a `file://` URL or path
 * of a `model.json` or of its folder (Node, no tfjs-node needed), or a tfjs IOHandler, in layers or graph format.
 * Graph models need the optional peer `@tensorflow/tfjs-converter`, imported only then.
 *
 * Every source goes through the same safety checks: weight paths may not leave the model's folder (nor redirects
 * its origin), shard sizes must match the manifest's shapes and dtypes, and every weight must match the topology in
 * name, shape and dtype, before any weight tensor is allocated. A failed load frees every tensor it made.
 *
 * @param source - registry name, URL, path or IOHandler.
 * @param options - facts about the base (input size, preprocessing, cut layer) and download settings.
 * @returns a {@link BaseSpec} for `Wrapper`; its `model` belongs to the caller (dispose it when done).
 * @throws {@link InvalidArgumentError} for an unknown registry name (listing the closest), a bad option, or a
 *   `cutAt` the model lacks; {@link LoadError}, {@link UnsafeModelError} when loading fails or is refused (a
 *   weight that does not fit the topology is named, with the shape and dtype each side has);
 *   {@link IncompatibleModelError} for layer classes tfjs-layers does not know; {@link UnsupportedError} for a graph
 *   model without `@tensorflow/tfjs-converter` installed. Every message starts with `loadBase:`.
 * @example
 * ```ts
 * import { loadBase, Wrapper } from 'tl-kit';
 * const base = await loadBase('mobilenet_v2');              // Teachable Machine's MobileNetV2, cut at out_relu
 * const model = Wrapper(base, { numClasses: 3 });
 * const mine = await loadBase('./models/my-base/model.json', { inputShape: [160, 160, 3], preprocessing: 'unit' });
 * ```
 *
 * @category bases
 */
export async function loadBase(source: string | tf.io.IOHandler, options: LoadBaseOptions = {}): Promise<BaseSpec> {
  checkOptionsObject(CALL, options);
  checkOptionKeys<LoadBaseOptions>(CALL, options, OPTION_KEYS);
  checkHttpLoadOptions(CALL, options);
  checkSpecOptions(CALL, options);
  const known = typeof source === 'string' ? findKnownBase(source) : undefined;
  const handler = known
    ? httpLoadHandler(known.url, httpOptions(options, known.redirectOrigins))
    : await toHandler(source, options);
  const format = options.format ?? known?.format ?? 'auto';
  if (format !== 'auto' && format !== 'layers' && format !== 'graph') {
    throw new InvalidArgumentError(CALL, 'format', "'auto', 'layers' or 'graph'", format);
  }
  const where = typeof source === 'string' ? source : 'the IOHandler';
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await (handler.load as () => Promise<tf.io.ModelArtifacts>)();
  } catch (err) {
    // The handlers' errors say what failed; name the call the user made in front of them.
    if (err instanceof TlKitError) throw namedBy(CALL, err);
    throw new LoadError(`${CALL}: cannot load ${where} (${rootReason(err)})`, { cause: err });
  }
  if (typeof artifacts !== 'object' || artifacts === null) {
    throw new LoadError(`${CALL}: the IOHandler's load() returned ${artifacts === null ? 'null' : typeof artifacts}, not model artifacts`);
  }
  const isGraph = format === 'graph' || (format === 'auto' && looksLikeGraph(artifacts));
  const model = await modelFromArtifacts(artifacts, where, isGraph, options.loadGraphModel);
  try {
    return toBaseSpec(model, known, options, typeof source === 'string' ? source : 'IOHandler');
  } catch (err) {
    (model as { dispose?: () => void }).dispose?.();
    throw err;
  }
}

/** Builds a BaseSpec from a loaded model (used by loadBase and the nsfwjs loaders). */
export function toBaseSpec(
  model: tfl.LayersModel | GraphModelLike,
  known: Omit<KnownBase, 'url' | 'description' | 'featureSize'> | undefined,
  options: LoadBaseOptions,
  fallbackName: string,
  call: string = CALL,
): BaseSpec {
  const declared =
    model instanceof tfl.LayersModel
      ? (model.inputs[0] as tfl.SymbolicTensor | undefined)?.shape
      : model.inputs[0]?.shape;
  const own = declared && declared.length === 4 ? declared.slice(1).map((d) => (d === null || d < 0 ? null : d)) : undefined;
  const inputShape =
    options.inputShape ?? known?.inputShape ?? (own?.every((d) => d !== null) ? (own as [number, number, number]) : undefined);
  if (inputShape === undefined) {
    throw new InvalidArgumentError(call, 'inputShape', "given, because the model does not declare its input size", undefined);
  }
  const cutAt = options.cutAt ?? known?.cutAt;
  if (cutAt !== undefined) {
    if (!(model instanceof tfl.LayersModel)) {
      throw new InvalidArgumentError(call, 'cutAt', 'undefined for a graph model (use outputNode)', cutAt);
    }
    const names = model.layers.map((l) => l.name);
    if (!names.includes(cutAt)) {
      throw new InvalidArgumentError(call, 'cutAt', `the name of a layer of the model (closest: ${closestNames(cutAt, names).join(', ')})`, cutAt);
    }
  }
  const spec: BaseSpec = {
    kind: 'tl-kit-base',
    name: options.name ?? known?.name ?? fallbackName,
    model,
    inputShape: [inputShape[0], inputShape[1], inputShape[2]],
    preprocessing: options.preprocessing ?? known?.preprocessing ?? 'tf',
    ...(cutAt !== undefined ? { cutAt } : {}),
    ...(options.outputNode !== undefined ? { outputNode: options.outputNode } : {}),
  };
  return spec;
}

function httpOptions(options: LoadBaseOptions, registryOrigins: readonly string[] = []) {
  const origins = [...registryOrigins, ...(options.allowedOrigins ?? [])];
  return {
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(origins.length > 0 ? { allowedOrigins: origins } : {}),
  };
}

async function toHandler(source: unknown, options: LoadBaseOptions): Promise<tf.io.IOHandler> {
  if (typeof source === 'object' && source !== null && typeof (source as tf.io.IOHandler).load === 'function') {
    return source as tf.io.IOHandler;
  }
  const expected = 'a known base name, an http(s):// or file:// URL, a path to a model.json or its folder, or an IOHandler';
  if (typeof source !== 'string' || source.length === 0) throw new InvalidArgumentError(CALL, 'source', expected, source);
  if (/^https?:\/\//i.test(source)) return httpLoadHandler(source, httpOptions(options));
  if (/^file:/i.test(source)) {
    // Checked now, so that a malformed file:// URL is an argument error of this call rather than of load().
    await toFsPath(CALL, 'source', source);
    return fileLoadHandlerFor(CALL, 'source', source);
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(source)) throw new InvalidArgumentError(CALL, 'source', expected, source);
  const looksLikePath = /[/\\]/.test(source) || source.endsWith('.json') || (await existsOnDisk(source));
  if (!looksLikePath) {
    const closest = closestNames(source, KNOWN_BASES.map((b) => b.name), 3).join(', ');
    throw new InvalidArgumentError(CALL, 'source', `a known base name (closest: ${closest}), a URL or a path`, source);
  }
  return fileLoadHandlerFor(CALL, 'source', source);
}

/** In Node, whether `name` (a bare word that is no registry name) is a file or folder in the working directory. */
async function existsOnDisk(name: string): Promise<boolean> {
  if (!isNode()) return false;
  const fs = await import('node:fs/promises');
  return fs.stat(name).then(
    () => true,
    () => false,
  );
}

function looksLikeGraph(artifacts: tf.io.ModelArtifacts): boolean {
  if (artifacts.format === 'graph-model') return true;
  const topology = artifacts.modelTopology as { node?: unknown } | undefined;
  return topology !== undefined && !(topology instanceof ArrayBuffer) && Array.isArray(topology.node);
}

/** Builds a LayersModel or (through tfjs-converter) a GraphModel from checked artifacts. */
export async function modelFromArtifacts(
  artifacts: tf.io.ModelArtifacts,
  where: string,
  isGraph: boolean,
  loadGraphModel?: GraphModelLoader,
): Promise<tfl.LayersModel | GraphModelLike> {
  return isGraph ? loadGraph(CALL, artifacts, where, loadGraphModel) : loadLayers(artifacts, where);
}

async function loadLayers(artifacts: tf.io.ModelArtifacts, where: string): Promise<tfl.LayersModel> {
  registerTlKitClasses();
  return layersModelFromArtifacts(CALL, artifacts, { where });
}

/**
 * Checks the options that a {@link BaseSpec} records, before anything is loaded: `inputShape`, `preprocessing`, and
 * the names `cutAt`, `outputNode` and `name`. Internal: `loadBase` and `loadNsfwBase`.
 */
export function checkSpecOptions(
  call: string,
  options: Pick<LoadBaseOptions, 'inputShape' | 'preprocessing' | 'cutAt' | 'outputNode' | 'name' | 'loadGraphModel'>,
): void {
  const shape: unknown = options.inputShape;
  if (shape !== undefined && !(Array.isArray(shape) && shape.length === 3 && shape.every((d) => Number.isInteger(d) && (d as number) > 0))) {
    throw new InvalidArgumentError(call, 'inputShape', '[height, width, channels] of positive integers', shape);
  }
  const pre = options.preprocessing;
  if (pre !== undefined && typeof pre !== 'function' && !['tf', 'caffe', 'torch', 'unit', 'none'].includes(pre as string)) {
    throw new InvalidArgumentError(call, 'preprocessing', "'tf', 'caffe', 'torch', 'unit', 'none' or a function", pre);
  }
  for (const key of ['cutAt', 'outputNode', 'name'] as const) {
    const value: unknown = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new InvalidArgumentError(call, key, 'a non-empty string', value);
  }
  if (options.loadGraphModel !== undefined && typeof options.loadGraphModel !== 'function') {
    throw new InvalidArgumentError(call, 'loadGraphModel', "a function such as tfjs-converter's loadGraphModel", options.loadGraphModel);
  }
}
