/**
 * Safety checks for a `model.json` from anywhere: weight paths must stay inside the model's folder, and the byte
 * size of every weight group must follow from its shapes and dtypes, so that a bad manifest is refused before any
 * shard is read or any tensor allocated.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { LoadError, UnsafeModelError } from '../errors';

/** Bytes per element of each weight dtype (and of each quantisation dtype). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * Largest total of weight bytes tl-kit accepts in one model (4 GiB): larger manifests are refused as implausible
 * before anything is read or allocated. No manifest field lifts it.
 */
export const MAX_WEIGHT_BYTES = 4 * 1024 ** 3;

/**
 * Most bytes of text that the `string` weights of one model may hold in total (8 MiB). Only text graph models (word
 * vocabularies) have string weights; their length is not fixed by the manifest, so this bound stands in for it.
 */
export const MAX_STRING_WEIGHT_BYTES = 8 * 1024 ** 2;

/** The smallest and largest byte size that weight data may have according to its specs. */
export interface ByteRange {
  readonly min: number;
  readonly max: number;
}

/** Parses and validates `model.json` text: a topology and a weights manifest with well-formed entries. */
export function parseModelJson(text: string, where: string): tf.io.ModelJSON {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LoadError(`${where} is not valid JSON`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new LoadError(`${where} is not a model.json object`);
  }
  const model = json as Partial<tf.io.ModelJSON>;
  if (typeof model.modelTopology !== 'object' || model.modelTopology === null) {
    throw new LoadError(`${where} has no modelTopology`);
  }
  const manifest = model.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new UnsafeModelError(`${where}: weightsManifest must be an array`);
  for (const group of manifest) {
    if (
      typeof group !== 'object' ||
      group === null ||
      !Array.isArray(group.paths) ||
      !group.paths.every((p) => typeof p === 'string') ||
      !Array.isArray(group.weights)
    ) {
      throw new UnsafeModelError(`${where}: every weightsManifest entry needs string paths and a weights list`);
    }
  }
  return { ...model, weightsManifest: manifest } as tf.io.ModelJSON;
}

/**
 * Checks a weight path of a manifest loaded from a folder: relative, no `..` segment, no backslash, no scheme or
 * host. Returns the path.
 */
export function checkRelativeWeightPath(path: string, where: string): string {
  const refuse = (why: string): never => {
    throw new UnsafeModelError(`${where}: weight path ${JSON.stringify(path)} ${why}; refused`);
  };
  if (path.length === 0) refuse('is empty');
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) refuse('points to another location (a URL or host)');
  if (path.startsWith('/') || /^[a-z]:/i.test(path)) refuse('is absolute');
  if (path.includes('\\')) refuse('contains a backslash');
  if (path.includes('\0')) refuse('contains a NUL byte');
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    refuse('is not a valid URL path');
  }
  // '.' segments stay inside the folder (tfjs's own http saver writes './model.weights.bin'); only '..' can escape.
  if (decoded.split('/').some((segment) => segment === '..')) refuse('escapes the model folder');
  return path;
}

/** Element count of a shape, refusing shapes that are not lists of non-negative integers. */
function elementCount(shape: unknown, name: string, where: string): number {
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new UnsafeModelError(`${where}: weight '${name}' has an invalid shape ${JSON.stringify(shape)}`);
  }
  return (shape as number[]).reduce((a, b) => a * b, 1);
}

/**
 * The byte size that weight data described by `specs` may have: exact for numeric weights; for `string` weights
 * (4-byte length prefix per element, then the text) between the prefixes alone and the prefixes plus
 * {@link MAX_STRING_WEIGHT_BYTES}. Refuses unknown dtypes, bad shapes and totals above {@link MAX_WEIGHT_BYTES}.
 */
export function expectedWeightBytes(specs: readonly tf.io.WeightsManifestEntry[], where: string): ByteRange {
  let fixed = 0;
  let strings = false;
  for (const spec of specs) {
    const name = String(spec?.name);
    const count = elementCount(spec?.shape, name, where);
    if (spec.dtype === 'string' && spec.quantization === undefined) {
      fixed += 4 * count;
      strings = true;
    } else {
      const dtype = spec.quantization?.dtype ?? spec.dtype;
      const bytes = DTYPE_BYTES[dtype];
      if (bytes === undefined) throw new UnsafeModelError(`${where}: weight '${name}' has an unknown dtype '${dtype}'`);
      fixed += count * bytes;
    }
    if (fixed > MAX_WEIGHT_BYTES) {
      throw new UnsafeModelError(`${where}: the weights declare more than ${MAX_WEIGHT_BYTES / 1024 ** 3} GiB; refused`);
    }
  }
  return { min: fixed, max: strings ? fixed + MAX_STRING_WEIGHT_BYTES : fixed };
}

/** {@link expectedWeightBytes} of one weights-manifest group. */
export function expectedGroupBytes(group: tf.io.WeightsManifestConfig[number], where: string): ByteRange {
  return expectedWeightBytes(group.weights, where);
}

/** Refuses a group whose shard sizes (sum) disagree with its weight specs. */
export function checkGroupSize(
  group: tf.io.WeightsManifestConfig[number],
  actualBytes: number,
  where: string,
): void {
  const { min, max } = expectedGroupBytes(group, where);
  if (actualBytes < min || actualBytes > max) {
    const need = min === max ? `${min}` : `${min} to ${max}`;
    throw new UnsafeModelError(
      `${where}: weight shards [${group.paths.join(', ')}] hold ${actualBytes} bytes but the manifest's shapes and dtypes need ${need}; refused`,
    );
  }
}

/** Refuses a manifest whose groups together declare more than {@link MAX_WEIGHT_BYTES}. */
export function checkManifestTotal(model: tf.io.ModelJSON, where: string): void {
  expectedWeightBytes(
    model.weightsManifest.flatMap((g) => g.weights),
    where,
  );
}

/** Concatenates byte chunks into one ArrayBuffer. */
export function concatBytes(chunks: readonly Uint8Array[]): ArrayBuffer {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out.buffer;
}

/** Builds ModelArtifacts from a parsed model.json and the concatenated weight bytes of all groups in order. */
export function toArtifacts(model: tf.io.ModelJSON, weightData: ArrayBuffer): tf.io.ModelArtifacts {
  const weightSpecs = model.weightsManifest.flatMap((g) => g.weights);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: model.modelTopology,
    weightSpecs,
    weightData,
  };
  if (model.format !== undefined) artifacts.format = model.format;
  if (model.generatedBy !== undefined) artifacts.generatedBy = model.generatedBy;
  if (model.convertedBy !== undefined) artifacts.convertedBy = model.convertedBy;
  if (model.trainingConfig !== undefined) artifacts.trainingConfig = model.trainingConfig;
  if (model.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = model.userDefinedMetadata;
  if (model.signature !== undefined) artifacts.signature = model.signature;
  if (model.modelInitializer !== undefined) artifacts.modelInitializer = model.modelInitializer;
  if (model.initializerSignature !== undefined) artifacts.initializerSignature = model.initializerSignature;
  return artifacts;
}
