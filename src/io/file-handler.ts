/**
 * tl-kit's own file IOHandlers for Node, so models load and save without tfjs-node: a loader that refuses unsafe
 * manifests before reading weights, and a saver that writes atomically.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, LoadError, TlKitError, UnsafeModelError, UnsupportedError } from '../errors';
import { describeFsError, FolderWriteFailure, readFolderVersion, recoverFolder, writeFolderAtomic, type FolderFile } from './atomic';
import { checkGroupSize, checkManifestTotal, checkRelativeWeightPath, concatBytes, parseModelJson, toArtifacts } from './manifest';
import { rootReason } from '../internal/cause';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { isNode } from '../internal/env';
import { isIgnoredName } from '../internal/file-names';

/** Name of the single weight file written by {@link fileSaveHandler}. */
export const WEIGHTS_FILE = 'weights.bin';


function requireNode(call: string): void {
  if (!isNode()) throw new UnsupportedError(`${call}: reading and writing files needs Node; in a browser load models by URL`);
}

const FILE_URL_FORMS = 'a path, or a file:// URL (file:///abs/model.json, file://./rel/model.json or file://rel/model.json)';

/**
 * Turns a path or `file://` URL into a file-system path. Accepts the forms tfjs-node accepts: `file:///abs/path`
 * (percent-decoded, as a URL), and `file://./rel/path` or `file://rel/path` (the rest taken as a relative path, as
 * tfjs-node does).
 */
export async function toFsPath(call: string, option: string, value: unknown): Promise<string> {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(call, option, 'a file path or file:// URL', value);
  }
  if (/^file:/i.test(value)) {
    if (!/^file:\/\//i.test(value)) throw new InvalidArgumentError(call, option, FILE_URL_FORMS, value);
    const rest = value.slice('file://'.length);
    const { fileURLToPath } = await import('node:url');
    const asUrl = rest.startsWith('/') || /^localhost\//i.test(rest) || (process.platform === 'win32' && /^[^./]/.test(rest));
    if (asUrl) {
      try {
        return fileURLToPath(value);
      } catch {
        throw new InvalidArgumentError(call, option, FILE_URL_FORMS, value);
      }
    }
    if (rest.length === 0 || rest.includes('\0')) throw new InvalidArgumentError(call, option, FILE_URL_FORMS, value);
    return rest;
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(value)) {
    throw new InvalidArgumentError(call, option, 'a file path or file:// URL (use loadBase for http(s) URLs)', value);
  }
  return value;
}

/**
 * `path` itself, or its `model.json` when it is a folder, including a model folder that a save is replacing right
 * now or that a crashed save left moved aside (see `recoverFolder`).
 */
async function modelJsonPath(path: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const isDir = (p: string) => fs.stat(p).then((st) => st.isDirectory(), () => undefined);
  const direct = await isDir(path);
  if (direct !== undefined) return direct ? join(path, 'model.json') : path;
  // Missing right now: a save may be between its two renames, or a killed one may have left it moved aside.
  const recovery = await recoverFolder(path).catch(() => undefined);
  const now = await isDir(path);
  if (now !== undefined) return now ? join(path, 'model.json') : path;
  if (recovery?.liveOld !== undefined && (await isDir(recovery.liveOld)) === true) return join(path, 'model.json');
  // Missing for good: reading it reports why.
  return path;
}

/**
 * An IOHandler that loads a layers or graph `model.json` and its weight shards from the file system (Node), for
 * `tf.loadLayersModel`, `tf.loadGraphModel` or `loadBase`. A folder means its `model.json`.
 *
 * Before reading any weight it refuses (with {@link UnsafeModelError}) weight paths that leave the model's folder
 * (`..`, absolute paths, URLs to other hosts, symlinks pointing outside) and shards whose sizes disagree with the
 * manifest's shapes and dtypes. A missing shard is a {@link LoadError} naming the file. A model folder that a save
 * is replacing, or that a crashed save left behind, is read as its last complete version (see `fileSaveHandler`).
 *
 * @param pathToModelJson - path or `file://` URL of the `model.json`, or of its folder. `file:///abs/model.json`,
 *   `file://./rel/model.json` and `file://rel/model.json` are accepted, as in tfjs-node.
 * @returns an IOHandler with a `load` method.
 * @throws {@link InvalidArgumentError} when the path is not a string (at call time) or not a usable `file://` URL.
 * @throws {@link LoadError} / {@link UnsafeModelError} from `load()`, see above; {@link UnsupportedError} outside Node.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { fileLoadHandler } from 'tl-kit';
 * const model = await tfl.loadLayersModel(fileLoadHandler('./models/base/model.json'));
 * ```
 */
export function fileLoadHandler(pathToModelJson: string): tf.io.IOHandler {
  return fileLoadHandlerFor('fileLoadHandler', 'pathToModelJson', pathToModelJson);
}

/** {@link fileLoadHandler} whose argument errors name `call` and `option` (loadBase, loadClassifier). Internal. */
export function fileLoadHandlerFor(call: string, option: string, pathToModelJson: string): tf.io.IOHandler {
  if (typeof pathToModelJson !== 'string' || pathToModelJson.length === 0) {
    throw new InvalidArgumentError(call, option, 'a file path or file:// URL', pathToModelJson);
  }
  return {
    load: async () => {
      requireNode(call);
      const jsonPath = await modelJsonPath(await toFsPath(call, option, pathToModelJson));
      return readModelFolder(jsonPath);
    },
  };
}

/**
 * Reads and checks a model.json and its shards from disk, from one complete version of its folder (see
 * `readFolderVersion`). Used by {@link fileLoadHandler}.
 */
export async function readModelFolder(jsonPath: string): Promise<tf.io.ModelArtifacts> {
  const path = await import('node:path');
  const name = path.basename(jsonPath);
  return readFolderVersion(path.dirname(path.resolve(jsonPath)), (folder) => readModelFiles(path.join(folder, name), jsonPath));
}

async function readModelFiles(file: string, jsonPath: string): Promise<tf.io.ModelArtifacts> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new LoadError(`cannot read model file ${jsonPath} (${rootReason(err)})`, { cause: err });
  }
  const model = parseModelJson(text, jsonPath);
  checkManifestTotal(model, jsonPath);
  const dir = await fs.realpath(path.dirname(file));
  // Plan every shard (paths checked, sizes checked) before reading one byte of weights.
  const groups: string[][] = [];
  for (const group of model.weightsManifest) {
    const files: string[] = [];
    let size = 0;
    for (const relative of group.paths) {
      checkRelativeWeightPath(relative, jsonPath);
      const full = path.resolve(dir, relative);
      let real: string;
      let info: import('node:fs').Stats;
      try {
        real = await fs.realpath(full);
        info = await fs.stat(real);
      } catch (err) {
        throw new LoadError(`${jsonPath}: weight shard '${relative}' is missing (${path.join(path.dirname(jsonPath), relative)})`, { cause: err });
      }
      // A FIFO or device would block or never end: only regular files are read.
      if (!info.isFile()) throw new LoadError(`${jsonPath}: weight shard '${relative}' is not a regular file`);
      size += info.size;
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
    for (const shard of files) {
      try {
        chunks.push(await fs.readFile(shard));
      } catch (err) {
        throw new LoadError(`${jsonPath}: cannot read weight shard ${shard}`, { cause: err });
      }
    }
  }
  const artifacts = toArtifacts(model, concatBytes(chunks));
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  checkGroupSize({ paths: model.weightsManifest.flatMap((g) => g.paths), weights: artifacts.weightSpecs ?? [] }, total, jsonPath);
  return artifacts;
}

/** Options of {@link fileSaveHandler}. */
export interface FileSaveOptions {
  /**
   * More files to write into the same atomic version of the folder as `model.json` and `weights.bin` (for example a
   * `metadata.json`, or a graph base under `base/`), so that a reader never finds the model without them or with
   * those of another save. Names are relative paths of plain segments (letters, digits, `.`, `_`, `-`; no hidden or
   * `..` segment), other than `model.json` and `weights.bin`.
   * @defaultValue none
   */
  readonly extraFiles?: readonly {
    /** Path inside the folder, e.g. `metadata.json` or `base/model.json`. */
    readonly name: string;
    /** Content: bytes, or text written as UTF-8. */
    readonly data: Uint8Array | string;
  }[];
}

const SAVE_KEYS: Readonly<Record<keyof FileSaveOptions, true>> = { extraFiles: true };

/** A relative path of plain segments (letters, digits, `.`, `_`, `-`; none hidden, none `..`), at most 8 deep. */
function isPlainRelativePath(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 512) return false;
  const segments = name.split('/');
  return segments.length <= 8 && segments.every((s) => /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(s));
}

function checkExtraFiles(call: string, files: unknown): readonly FolderFile[] {
  if (files === undefined) return [];
  const expected =
    'a list of { name, data } with distinct relative paths of plain names (no hidden or .. segment), other than model.json and weights.bin, and string or Uint8Array data';
  if (!Array.isArray(files)) throw new InvalidArgumentError(call, 'extraFiles', expected, files);
  const names = new Set<string>(['model.json', WEIGHTS_FILE]);
  for (const file of files as unknown[]) {
    const { name, data } = (file ?? {}) as Partial<FolderFile>;
    if (!isPlainRelativePath(name) || names.has(name.toLowerCase()) || !(typeof data === 'string' || data instanceof Uint8Array)) {
      throw new InvalidArgumentError(call, 'extraFiles', expected, typeof name === 'string' ? name : file);
    }
    names.add(name.toLowerCase());
  }
  // A file and a folder of the same name cannot both exist.
  for (const name of names) {
    if ([...names].some((other) => other.startsWith(`${name}/`))) throw new InvalidArgumentError(call, 'extraFiles', expected, name);
  }
  return files as readonly FolderFile[];
}

/**
 * An IOHandler that saves a model into a folder (`model.json` + `weights.bin`, plus `extraFiles`) in Node,
 * atomically: everything is written and flushed to a hidden temporary sibling folder, which is then switched into
 * place, so that at every moment a reader ({@link fileLoadHandler}, `loadClassifier`) finds either the complete
 * previous or the complete new folder. Replacing an existing folder takes two renames; if the process dies between
 * them, the next load or save of the folder puts the previous version back. Temporary and previous versions left by
 * processes that died are removed by the next load or save of the same folder. A non-empty folder that holds no
 * `model.json` is refused rather than overwritten, and so is a saved model's folder that also holds files the model
 * does not consist of (anything but `model.json`, the weight files its manifest names, `metadata.json`, `base/`,
 * `base.onnx` and this save's `extraFiles`): replacing the folder would delete them.
 *
 * @param dir - folder path or `file://` URL to save into (created with its parents).
 * @param options - `extraFiles` to write into the same version; see {@link FileSaveOptions}.
 * @returns an IOHandler with a `save` method, for `model.save(...)`.
 * @throws {@link InvalidArgumentError} when `dir` or an option is invalid (at call time) or, from `save()`, `dir`
 *   names a non-empty folder that is not a saved model, or one that also holds other files (named in the message);
 *   {@link UnsupportedError} outside Node or for a binary
 *   topology; {@link LoadError} from `save()` when the folder cannot be inspected or written: its message says what
 *   the folder still holds (on a full disk, `ENOSPC`: the previous model, untouched), and the fs error is the cause.
 * @example
 * ```ts
 * import { fileSaveHandler, fileLoadHandler } from 'tl-kit';
 * await model.save(fileSaveHandler('./out/classifier', { extraFiles: [{ name: 'labels.txt', data: 'cat\ndog\n' }] }));
 * const again = await tfl.loadLayersModel(fileLoadHandler('./out/classifier'));
 * ```
 */
export function fileSaveHandler(dir: string, options: FileSaveOptions = {}): tf.io.IOHandler {
  const call = 'fileSaveHandler';
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new InvalidArgumentError(call, 'dir', 'a folder path or file:// URL', dir);
  }
  checkOptionsObject(call, options);
  checkOptionKeys<FileSaveOptions>(call, options, SAVE_KEYS);
  const extraFiles = checkExtraFiles(call, options.extraFiles);
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      requireNode(call);
      const target = await toFsPath(call, 'dir', dir);
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new UnsupportedError(`${call}: binary (protobuf) model topologies cannot be saved as model.json`);
      }
      await checkReplaceable(call, target, extraFiles);
      try {
        await writeFolderAtomic(target, [...artifactsToFiles(artifacts), ...extraFiles]);
      } catch (err) {
        if (err instanceof FolderWriteFailure) {
          throw new LoadError(`${call}: cannot write the model to ${target}: ${err.describe()}`, { cause: err.cause });
        }
        throw new LoadError(`${call}: cannot write the model to ${target}: ${describeFsError(err)}`, { cause: err });
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

/** Files and folders a saved model's folder may hold besides those its model.json names: tl-kit's own. */
const MODEL_FOLDER_NAMES = new Set(['model.json', 'metadata.json', 'weights.bin', 'base', 'base.onnx']);

/** The largest model.json read to find the files a saved model consists of. */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/**
 * Refuses to replace a non-empty folder that is not a saved model (or a file), and a saved model's folder that also
 * holds other files: replacing it would delete them.
 */
async function checkReplaceable(call: string, target: string, extraFiles: readonly FolderFile[]): Promise<void> {
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
    throw new LoadError(`${call}: cannot write the model to ${target}: ${describeFsError(err)}; nothing was written there`, {
      cause: err,
    });
  }
  if (entries.length > 0 && !entries.includes('model.json')) {
    throw new InvalidArgumentError(
      call,
      'dir',
      `a new or empty folder, or one holding a saved model (it has ${entries.length} entries and no model.json)`,
      path.resolve(target),
    );
  }
  const own = new Set([...MODEL_FOLDER_NAMES, ...extraFiles.map((f) => topName(f.name))]);
  for (const weightPath of await manifestPaths(path.join(target, 'model.json'))) own.add(topName(weightPath));
  const foreign = entries.filter((name) => !own.has(name) && !isIgnoredName(name)).sort();
  if (foreign.length > 0) {
    const listed = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : '');
    throw new InvalidArgumentError(
      call,
      'dir',
      `a folder holding only a saved model's files, since saving replaces the folder whole (it also holds ${listed}; move them out or save elsewhere)`,
      path.resolve(target),
    );
  }
}

/** The first segment of a relative path inside the folder. */
function topName(relative: string): string {
  return relative.split('/')[0] as string;
}

/** The weight file paths a model.json's manifest names; none when it cannot be read or parsed. */
async function manifestPaths(modelJsonPath: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  try {
    const info = await fs.stat(modelJsonPath);
    if (!info.isFile() || info.size > MAX_MODEL_JSON_BYTES) return [];
    const json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8')) as { weightsManifest?: unknown };
    if (!Array.isArray(json.weightsManifest)) return [];
    return json.weightsManifest.flatMap((group: unknown) => {
      const paths = (group as { paths?: unknown } | null)?.paths;
      return Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [];
    });
  } catch {
    return [];
  }
}
