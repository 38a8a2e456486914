/**
 * `loadOnnxBase`: any ONNX image model (a torchvision, timm or Hugging Face export, or tl-kit's own conversion) as a
 * frozen base that `Wrapper` accepts. It runs on ONNX Runtime only (`onnxruntime-node`, in Node).
 *
 * @module
 */
import type { PreprocessingMode } from '../data/types';
import type { Progress } from '../progress';
import { IncompatibleModelError, InvalidArgumentError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { checkHttpLoadOptions } from '../io/http';
import { resolveTimeout } from '../io/fetch';
import type { OnnxBaseModel } from '../runtime/onnx/base-model';
import { inspectOnnx, MAX_ONNX_BYTES, type OnnxModelInfo, type OnnxValueInfo } from '../runtime/onnx/inspect';
import { createOnnxSession, type OnnxLayout } from '../runtime/onnx/session';
import type { BaseSpec } from './base-spec';
import { readOnnxSource, type OnnxSource } from './onnx-source';

/**
 * Options of {@link loadOnnxBase}.
 *
 * @category bases
 */
export interface LoadOnnxBaseOptions {
  /**
   * `[height, width, channels]` of the images to feed. Required when the graph leaves the height or width symbolic
   * (a model exported with dynamic axes); else it must agree with the graph.
   * @defaultValue the graph's input size
   */
  readonly inputShape?: readonly [number, number, number];
  /**
   * Axis order of the model's image input. Detected from the input's dims when the channel axis is recognisable (1
   * or 3 channels on one side only); required otherwise.
   * @defaultValue detected
   */
  readonly layout?: 'NCHW' | 'NHWC';
  /**
   * The graph output that gives the features (a rank-4 map is pooled by the Wrapper as usual).
   * @defaultValue the graph's first output
   */
  readonly outputName?: string;
  /**
   * Pixel scaling the model was trained with; the data loader applies it. `'torch'` is ImageNet's mean/std
   * normalisation of [0, 1] pixels, what torchvision and timm models expect, and most ONNX image models are exported
   * from PyTorch. Models exported from TensorFlow/Keras (tf2onnx) usually want `'tf'` or `'caffe'`.
   * @defaultValue 'torch'
   */
  readonly preprocessing?: PreprocessingMode;
  /**
   * Name recorded in the spec.
   * @defaultValue the file name, or `'onnx'` for bytes
   */
  readonly name?: string;
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
   * Download progress for http(s) sources: `{ phase: 'download', done, total }` counting bytes (`total` undefined
   * when the server does not say the size).
   * @defaultValue none
   */
  readonly onProgress?: (progress: Progress<'download'>) => void;
  /**
   * Largest file accepted, in bytes.
   * @defaultValue 2 GiB - 1, the largest single-file ONNX model
   */
  readonly maxBytes?: number;
  /**
   * Longest wait, in milliseconds (at most one day), for a download's response and for each of its chunks, and for
   * ONNX Runtime when the output shape must be found by a run.
   * @defaultValue 60000
   */
  readonly timeoutMs?: number;
}

const CALL = 'loadOnnxBase';
const OPTION_KEYS: Readonly<Record<keyof LoadOnnxBaseOptions, true>> = {
  inputShape: true,
  layout: true,
  outputName: true,
  preprocessing: true,
  name: true,
  cacheDir: true,
  fetch: true,
  onProgress: true,
  maxBytes: true,
  timeoutMs: true,
};
const PRESETS = ['tf', 'caffe', 'torch', 'unit', 'none'];

/**
 * Makes an ONNX image model a frozen base. The file is read (or downloaded, through the model cache in Node),
 * decoded and checked: one float32 image input of rank 4, its layout, its size, the features output. When the graph
 * leaves an output dimension symbolic, one run on a blank image finds it (this needs `onnxruntime-node`). The result
 * holds the model's bytes; ONNX Runtime sessions are made from them when the base runs.
 *
 * ONNX bases run only on ONNX Runtime: they are not layers models, so they cannot be fine-tuned, and a saved classifier
 * with an ONNX base keeps the ONNX file next to its head.
 *
 * @param source - a file path or `file://` URL (Node), an `http(s)://` URL (cached on disk in Node), or the file's
 *   bytes (`Uint8Array` or `ArrayBuffer`, kept by reference).
 * @param options - input size and layout where the graph does not tell, the features output, preprocessing, download
 *   settings.
 * @returns a base spec whose `model` is an {@link OnnxBaseModel}.
 * @throws {@link InvalidArgumentError} for a bad source or option, an `inputShape` that contradicts the graph, a
 *   missing `inputShape` or `layout` the graph cannot supply, or an `outputName` the graph lacks (listing its outputs).
 * @throws {@link LoadError} / {@link UnsafeModelError} when the file cannot be read or downloaded, is not an ONNX model,
 *   keeps its weights in external data files, or is larger than `maxBytes`.
 * @throws {@link IncompatibleModelError} for a model that does not take one float32 image batch or whose features are
 *   not float32.
 * @throws {@link UnsupportedError} for a path in a browser, or when a probing run is needed without onnxruntime-node.
 * @example
 * ```ts
 * import { loadOnnxBase, Wrapper } from 'tl-kit';
 * // A torchvision ResNet-18 exported with torch.onnx.export(model, x, 'resnet18.onnx'), cut before its fc layer:
 * const base = await loadOnnxBase('./resnet18-features.onnx');  // NCHW detected, 'torch' preprocessing
 * const model = Wrapper(base, { numClasses: 5 });
 * // A model exported with dynamic height and width needs the size to feed:
 * const timm = await loadOnnxBase('https://example.com/convnext.onnx', { inputShape: [224, 224, 3] });
 * ```
 *
 * @category bases
 */
export async function loadOnnxBase(source: string | Uint8Array | ArrayBuffer, options: LoadOnnxBaseOptions = {}): Promise<BaseSpec & {
  /** The ONNX model: its bytes, input and output names, layout and shapes. */
  readonly model: OnnxBaseModel;
}> {
  checkOptionsObject(CALL, options);
  checkOptionKeys<LoadOnnxBaseOptions>(CALL, options, OPTION_KEYS);
  checkHttpLoadOptions(CALL, options);
  const { inputShape, layout, outputName, preprocessing, name } = options;
  if (inputShape !== undefined && !isImageShape(inputShape)) {
    throw new InvalidArgumentError(CALL, 'inputShape', '[height, width, channels] of positive integers', inputShape);
  }
  if (layout !== undefined && layout !== 'NCHW' && layout !== 'NHWC') throw new InvalidArgumentError(CALL, 'layout', "'NCHW' or 'NHWC'", layout);
  if (outputName !== undefined && (typeof outputName !== 'string' || outputName.length === 0)) {
    throw new InvalidArgumentError(CALL, 'outputName', 'the name of a graph output', outputName);
  }
  if (preprocessing !== undefined && typeof preprocessing !== 'function' && !PRESETS.includes(preprocessing as string)) {
    throw new InvalidArgumentError(CALL, 'preprocessing', "'tf', 'caffe', 'torch', 'unit', 'none' or a function", preprocessing);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw new InvalidArgumentError(CALL, 'name', 'a non-empty string', name);
  const maxBytes = options.maxBytes ?? MAX_ONNX_BYTES;
  if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_ONNX_BYTES) {
    throw new InvalidArgumentError(CALL, 'maxBytes', `an integer from 1 to ${MAX_ONNX_BYTES}`, maxBytes);
  }
  const timeoutMs = resolveTimeout(CALL, options.timeoutMs, 60_000);

  const check = async (bytes: Uint8Array, where: string): Promise<void> => {
    await inspectOnnx(CALL, bytes, { maxBytes, source: where });
  };
  const read = await readOnnxSource(CALL, source, {
    cacheDir: options.cacheDir,
    fetch: options.fetch,
    onProgress: options.onProgress,
    maxBytes,
    timeoutMs,
    check,
  });
  const where = typeof source === 'string' ? source : 'the ONNX bytes';
  const info = await inspectOnnx(CALL, read.bytes, { maxBytes, source: where });
  const model = await describeBase(read.bytes, info, where, { inputShape, layout, outputName, timeoutMs });
  return {
    kind: 'tl-kit-base',
    name: name ?? (read.name === 'bytes' ? 'onnx' : read.name),
    model,
    inputShape: model.inputShape,
    preprocessing: preprocessing ?? 'torch',
  };
}

function isImageShape(value: unknown): value is readonly [number, number, number] {
  return Array.isArray(value) && value.length === 3 && value.every((d) => Number.isInteger(d) && d > 0);
}

function showDims(info: OnnxValueInfo): string {
  return info.dims === null ? 'of unknown rank' : `[${info.dims.map((d) => d ?? '?').join(', ')}]`;
}

async function describeBase(
  bytes: Uint8Array,
  info: OnnxModelInfo,
  where: string,
  options: { inputShape?: readonly [number, number, number]; layout?: OnnxLayout; outputName?: string; timeoutMs: number },
): Promise<OnnxBaseModel> {
  if (info.inputs.length !== 1) {
    throw new IncompatibleModelError(
      `${CALL}: ${where} takes ${info.inputs.length} inputs (${info.inputs.map((i) => i.name).join(', ')}); a base takes one image batch`,
    );
  }
  const input = info.inputs[0] as OnnxValueInfo;
  if (input.elementType !== 'float32' || input.dims === null || input.dims.length !== 4) {
    throw new IncompatibleModelError(
      `${CALL}: ${where}'s input ${input.name} is ${input.elementType} ${showDims(input)}; a base takes float32 images [batch, ...3 dims]`,
    );
  }
  const layout = options.layout ?? info.layout;
  if (layout === undefined) {
    throw new InvalidArgumentError(CALL, 'layout', `'NCHW' or 'NHWC', because the input ${showDims(input)} does not tell which axis holds the channels`, undefined);
  }
  const [, a, b, c] = input.dims;
  const declared = layout === 'NCHW' ? [b, c, a] : [a, b, c];
  let inputShape = options.inputShape;
  if (inputShape === undefined) {
    if (declared.some((d) => d === null)) {
      throw new InvalidArgumentError(CALL, 'inputShape', `given, because ${where}'s input ${showDims(input)} leaves its size free`, undefined);
    }
    inputShape = declared as [number, number, number];
  } else if (declared.some((d, i) => d !== null && d !== (inputShape as readonly number[])[i])) {
    const expected = `[${declared.map((d) => d ?? 'any').join(', ')}] ([height, width, channels]), as ${where}'s ${layout} input ${showDims(input)} declares`;
    throw new InvalidArgumentError(CALL, 'inputShape', expected, [...inputShape]);
  }
  const names = info.outputs.map((o) => o.name);
  const outputName = options.outputName ?? names[0];
  const output = info.outputs.find((o) => o.name === outputName);
  if (output === undefined || outputName === undefined) {
    throw new InvalidArgumentError(CALL, 'outputName', `one of ${where}'s outputs (${names.join(', ')})`, options.outputName);
  }
  if (output.elementType !== 'float32' || (output.dims !== null && output.dims.length < 2)) {
    throw new IncompatibleModelError(`${CALL}: ${where}'s output ${output.name} is ${output.elementType} ${showDims(output)}; features must be float32 [batch, ...]`);
  }
  let outputShape: (number | null)[] | undefined;
  if (output.dims !== null && output.dims.slice(1).every((d) => d !== null)) {
    const dims = [null, ...output.dims.slice(1)] as (number | null)[];
    outputShape = layout === 'NCHW' && dims.length === 4 ? [null, dims[2] ?? null, dims[3] ?? null, dims[1] ?? null] : dims;
  } else {
    outputShape = await probeOutputShape(bytes, input.name, outputName, layout, inputShape, options.timeoutMs);
  }
  return {
    kind: 'onnx',
    bytes,
    inputName: input.name,
    outputName,
    layout,
    inputShape: [inputShape[0], inputShape[1], inputShape[2]],
    outputShape,
  };
}

/** The output's shape (NHWC for a rank-4 map), found by running the model once on a blank image. */
async function probeOutputShape(
  bytes: Uint8Array,
  inputName: string,
  outputName: string,
  layout: OnnxLayout,
  inputShape: readonly [number, number, number],
  timeoutMs: number,
): Promise<(number | null)[]> {
  const session = await createOnnxSession(CALL, bytes, { inputName, outputName, layout, intraOpNumThreads: 1, timeoutMs });
  try {
    const { shape } = await session.run(new Float32Array(inputShape[0] * inputShape[1] * inputShape[2]), [1, ...inputShape]);
    return [null, ...shape.slice(1)];
  } catch (err) {
    throw new IncompatibleModelError(`${CALL}: the model does not run on one [${inputShape.join(', ')}] image (${(err as Error).message})`, { cause: err });
  } finally {
    await session.release();
  }
}
