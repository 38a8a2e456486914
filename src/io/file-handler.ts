/**
 * tl-kit's own file IOHandlers for Node, so models load and save without tfjs-node: a loader that refuses unsafe
 * manifests before reading weights, and a saver that writes atomically.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, LoadError, TlKitError, UnsafeModelError, UnsupportedError } from '../errors';
import { writeFolderAtomic, type FolderFile } from './atomic';
import { checkGroupSize, checkRelativeWeightPath, concatBytes, parseModelJson, toArtifacts } from './manifest';
import { rootReason } from '../internal/cause';
import { isNode } from '../internal/env';

/** Name of the single weight file written by {@link fileSaveHandler}. */
export const WEIGHTS_FILE = 'weights.bin';


function requireNode(call: string): void {
  if (!isNode()) throw new UnsupportedError(`${call}: reading and writing files needs Node; in a browser load models by URL`);
}

/** Turns a path or `file://` URL into a file system path. */
async function toFsPath(call: string, option: string, value: unknown): Promise<string> {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(call, option, 'a file path or file:// URL', value);
  }
  if (/^file:/i.test(value)) {
    const { fileURLToPath } = await import('node:url');
    try {
      return fileURLToPath(value);
    } catch {
      throw new InvalidArgumentError(call, option, 'a valid file:// URL', value);
    }
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(value)) {
    throw new InvalidArgumentError(call, option, 'a file path or file:// URL (use loadBase for http(s) URLs)', value);
  }
  return value;
}

/**
 * An IOHandler that loads a layers or graph `model.json` and its weight shards from the file system (Node), for
 * `tf.loadLayersModel`, `tf.loadGraphModel` or `loadBase`.
 *
 * Before reading any weight it refuses (with {@link UnsafeModelError}) weight paths that leave the model's folder
 * (`..`, absolute paths, URLs to other hosts, symlinks pointing outside) and shards whose sizes disagree with the
 * manifest's shapes and dtypes. A missing shard is a {@link LoadError} naming the file.
 *
 * @param pathToModelJson - path or `file://` URL of the `model.json`.
 * @returns an IOHandler with a `load` method.
 * @throws {@link InvalidArgumentError} when the path is not a string (at call time).
 * @throws {@link LoadError} / {@link UnsafeModelError} from `load()`, see above; {@link UnsupportedError} outside Node.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { fileLoadHandler } from 'tl-kit';
 * const model = await tfl.loadLayersModel(fileLoadHandler('./models/base/model.json'));
 * ```
 */
export function fileLoadHandler(pathToModelJson: string): tf.io.IOHandler {
  const call = 'fileLoadHandler';
  if (typeof pathToModelJson !== 'string' || pathToModelJson.length === 0) {
    throw new InvalidArgumentError(call, 'pathToModelJson', 'a file path or file:// URL', pathToModelJson);
  }
  return {
    load: async () => {
      requireNode(call);
      const jsonPath = await toFsPath(call, 'pathToModelJson', pathToModelJson);
      return readModelFolder(jsonPath);
    },
  };
}

/** Reads and checks a model.json and its shards from disk. Used by fileLoadHandler and the download cache. */
export async function readModelFolder(jsonPath: string): Promise<tf.io.ModelArtifacts> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (err) {
    throw new LoadError(`cannot read model file ${jsonPath} (${rootReason(err)})`, { cause: err });
  }
  const model = parseModelJson(text, jsonPath);
  const dir = await fs.realpath(path.dirname(path.resolve(jsonPath)));
  // Plan every shard (paths checked, sizes checked) before reading one byte of weights.
  const groups: string[][] = [];
  for (const group of model.weightsManifest) {
    const files: string[] = [];
    let size = 0;
    for (const relative of group.paths) {
      checkRelativeWeightPath(relative, jsonPath);
      const full = path.resolve(dir, relative);
      let real: string;
      try {
        real = await fs.realpath(full);
        size += (await fs.stat(real)).size;
      } catch (err) {
        throw new LoadError(`${jsonPath}: weight shard '${relative}' is missing (${full})`, { cause: err });
      }
      if (!real.startsWith(dir + path.sep)) {
        throw new UnsafeModelError(`${jsonPath}: weight path ${JSON.stringify(relative)} resolves outside the model folder; refused`);
      }
      files.push(real);
    }
    checkGroupSize(group, size, jsonPath);
    groups.push(files);
  }
  const chunks: Uint8Array[] = [];
  for (const files of groups) {
    for (const file of files) {
      try {
        chunks.push(await fs.readFile(file));
      } catch (err) {
        throw new LoadError(`${jsonPath}: cannot read weight shard ${file}`, { cause: err });
      }
    }
  }
  return toArtifacts(model, concatBytes(chunks));
}

/**
 * An IOHandler that saves a model into a folder (`model.json` + `weights.bin`) in Node, atomically: everything is
 * written to a temporary sibling folder which is then renamed into place, so an interrupted save never leaves a
 * half-written model. An existing model folder is replaced as a whole; a non-empty folder that holds no
 * `model.json` is refused rather than overwritten.
 *
 * @param dir - folder path or `file://` URL to save into (created with its parents).
 * @param options - `extraFiles`: more files (name relative to the folder, bytes or text) written into the same atomic
 *   version, e.g. `metadata.json`; names must be plain relative paths.
 * @returns an IOHandler with a `save` method, for `model.save(...)`.
 * @throws {@link InvalidArgumentError} when `dir` is not a string (at call time) or, from `save()`, names a non-empty
 *   folder that is not a saved model; {@link UnsupportedError} outside Node or for a binary topology;
 *   {@link LoadError} from `save()` when the folder cannot be inspected or written (the fs error is the cause).
 * @example
 * ```ts
 * import { fileSaveHandler, fileLoadHandler } from 'tl-kit';
 * await model.save(fileSaveHandler('./out/classifier'));
 * const again = await tfl.loadLayersModel(fileLoadHandler('./out/classifier/model.json'));
 * ```
 */
export function fileSaveHandler(dir: string, options: { readonly extraFiles?: readonly FolderFile[] } = {}): tf.io.IOHandler {
  const call = 'fileSaveHandler';
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new InvalidArgumentError(call, 'dir', 'a folder path or file:// URL', dir);
  }
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      requireNode(call);
      const target = await toFsPath(call, 'dir', dir);
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new UnsupportedError(`${call}: binary (protobuf) model topologies cannot be saved as model.json`);
      }
      await checkReplaceable(call, target);
      try {
        await writeFolderAtomic(target, [...artifactsToFiles(artifacts), ...(options.extraFiles ?? [])]);
      } catch (err) {
        throw new LoadError(`${call}: cannot write the model to ${target}`, { cause: err });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/**
 * The files a saved model consists of: `model.json` (topology, weights manifest pointing at `weights.bin`, metadata)
 * and `weights.bin`, under `folder` (e.g. `'base/'`) when given. Internal: the saver and the classifier writer share it.
 */
export function artifactsToFiles(artifacts: tf.io.ModelArtifacts, folder = ''): FolderFile[] {
  const weights = new Uint8Array(
    artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
  );
  const modelJson: Record<string, unknown> = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
    trainingConfig: artifacts.trainingConfig,
    userDefinedMetadata: artifacts.userDefinedMetadata,
    signature: artifacts.signature,
    modelInitializer: artifacts.modelInitializer,
    initializerSignature: artifacts.initializerSignature,
  };
  return [
    { name: `${folder}model.json`, data: JSON.stringify(modelJson) },
    { name: `${folder}${WEIGHTS_FILE}`, data: weights },
  ];
}

/** Refuses to replace a non-empty folder that is not a saved model (or a file). */
async function checkReplaceable(call: string, target: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let entries: string[];
  try {
    const info = await fs.stat(target);
    if (!info.isDirectory()) throw new InvalidArgumentError(call, 'dir', 'a folder (not a file)', target);
    entries = await fs.readdir(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: cannot write the model to ${target}`, { cause: err });
  }
  if (entries.length > 0 && !entries.includes('model.json')) {
    throw new InvalidArgumentError(
      call,
      'dir',
      `a new or empty folder, or one holding a saved model (it has ${entries.length} entries and no model.json)`,
      path.resolve(target),
    );
  }
}
