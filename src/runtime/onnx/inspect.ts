/**
 * Reads what an ONNX file declares, without running it: its inputs and outputs (names, element types, dims) and the
 * image layout of a rank-4 input. What it reads is bounded: at most `maxBytes`, a protobuf decode that makes views of
 * the weights rather than copies, a bounded walk of nested graphs; files that are not a ModelProto, and models whose
 * weights live in external data files, are refused.
 *
 * @module
 */
import type { onnx } from 'onnx-proto';
import { InvalidArgumentError, LoadError } from '../../errors';
import { int64ToNumber, loadOnnxProto } from './proto';
import type { OnnxLayout } from './session';

/** A graph input or output as the file declares it. */
export interface OnnxValueInfo {
  /** Its name in the graph. */
  readonly name: string;
  /** Element type in tfjs's words (`'float32'`, `'int64'`, `'float16'`, ...), `'non-tensor'` for sequences and maps. */
  readonly elementType: string;
  /** Dimensions, null where symbolic (`batch`, `height`) or unknown; null for an unknown rank. */
  readonly dims: readonly (number | null)[] | null;
}

/** What {@link inspectOnnx} found. */
export interface OnnxModelInfo {
  /** Graph inputs, weights (initialisers listed as inputs by older exporters) left out. */
  readonly inputs: readonly OnnxValueInfo[];
  /** Graph outputs. */
  readonly outputs: readonly OnnxValueInfo[];
  /** Opset of the default (ai.onnx) domain. */
  readonly opset: number | undefined;
  /** IR version of the file. */
  readonly irVersion: number;
  /** Who wrote it (`'pytorch'`, `'tf2onnx'`, `'tl-kit'`, ...). */
  readonly producer: string;
  /** Image layout of the first input when it is rank 4 and its dims tell (see {@link detectImageLayout}). */
  readonly layout: OnnxLayout | undefined;
}

/** Options of {@link inspectOnnx}. */
export interface InspectOnnxOptions {
  /**
   * Largest file accepted, in bytes.
   * @defaultValue 2 GiB - 1 (the protobuf limit of a single ONNX file)
   */
  readonly maxBytes?: number;
  /** What to call the bytes in messages (a path or URL). @defaultValue 'the ONNX bytes' */
  readonly source?: string;
}

/** The protobuf limit of one ONNX file (2 GiB - 1). */
export const MAX_ONNX_BYTES = 2 ** 31 - 1;
/** Largest dimension accepted in a declared shape. */
const MAX_DIM = 2 ** 31 - 1;
/** Nested graphs (If / Loop bodies) walked at most this deep when looking for external data. */
const MAX_GRAPH_DEPTH = 16;

const ELEMENT_TYPES: Readonly<Record<number, string>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
};

/**
 * The image layout of a rank-4 input's dims `[batch, a, b, c]`: `'NCHW'` when `a` is 1 or 3 and `c` is not, `'NHWC'`
 * when `c` is 1 or 3 and `a` is not; undefined when both or neither are (or the rank is not 4). Symbolic dims (null)
 * count as "not a channel count".
 *
 * @example
 * ```ts
 * detectImageLayout([null, 3, 224, 224]); // 'NCHW'
 * detectImageLayout([1, 224, 224, 3]);    // 'NHWC'
 * detectImageLayout([1, 3, 3, 3]);        // undefined
 * ```
 */
export function detectImageLayout(dims: readonly (number | null)[] | null): OnnxLayout | undefined {
  if (dims === null || dims.length !== 4) return undefined;
  const channels = (d: number | null | undefined): boolean => d === 1 || d === 3;
  const first = channels(dims[1]);
  const last = channels(dims[3]);
  if (first && !last) return 'NCHW';
  if (last && !first) return 'NHWC';
  return undefined;
}

function has(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

function describe(info: onnx.IValueInfoProto, where: string): OnnxValueInfo {
  const name = info.name ?? '';
  const tensor = info.type?.tensorType;
  if (info.type == null || tensor == null) return { name, elementType: 'non-tensor', dims: null };
  const elemType = tensor.elemType ?? 0;
  const elementType = ELEMENT_TYPES[elemType] ?? `unknown (${elemType})`;
  if (tensor.shape == null) return { name, elementType, dims: null };
  const dims = (tensor.shape.dim ?? []).map((d) => {
    if (!has(d, 'dimValue')) return null;
    const n = int64ToNumber(d.dimValue);
    if (!Number.isInteger(n) || n < 0 || n > MAX_DIM) {
      throw new LoadError(`${where}: ${name} declares the dimension ${String(d.dimValue)}; refused`);
    }
    return n;
  });
  return { name, elementType, dims };
}

function usesExternalData(tensor: onnx.ITensorProto | null | undefined): boolean {
  return tensor != null && (tensor.dataLocation === 1 || (tensor.externalData?.length ?? 0) > 0);
}

/** Throws when any weight of `graph` (or of a graph nested in its nodes) lives in an external file. */
function refuseExternalData(graph: onnx.IGraphProto, where: string, depth: number): void {
  if (depth > MAX_GRAPH_DEPTH) throw new LoadError(`${where}: graphs nested more than ${MAX_GRAPH_DEPTH} deep; refused`);
  const external = (graph.initializer ?? []).find(usesExternalData) ??
    (graph.sparseInitializer ?? []).map((s) => s.values).find(usesExternalData);
  for (const node of graph.node ?? []) {
    for (const attr of node.attribute ?? []) {
      if (usesExternalData(attr.t) || (attr.tensors ?? []).some(usesExternalData)) {
        throw new LoadError(`${where}: node ${node.name ?? node.opType ?? ''} keeps a tensor in an external data file; tl-kit reads single-file ONNX models only (save the model with its weights inside the file)`);
      }
      for (const sub of [attr.g, ...(attr.graphs ?? [])]) if (sub != null) refuseExternalData(sub, where, depth + 1);
    }
  }
  if (external !== undefined) {
    throw new LoadError(
      `${where}: weight ${external?.name ?? ''} lives in an external data file; tl-kit reads single-file ONNX models only (save the model with its weights inside the file)`,
    );
  }
}

/**
 * Decodes an ONNX file's ModelProto and reports its inputs, outputs and the layout of its image input.
 *
 * @param call - the public call, named in errors.
 * @param bytes - the file's bytes.
 * @param options - size limit and the source's name for messages.
 * @returns what the file declares.
 * @throws {@link InvalidArgumentError} for bytes that are not a non-empty Uint8Array.
 * @throws {@link LoadError} for bytes beyond `maxBytes`, bytes that are not an ONNX ModelProto, a model with weights in
 *   external data files, or absurd declared dimensions.
 * @example
 * ```ts
 * const info = await inspectOnnx('myCall', await readFile('resnet18.onnx'));
 * info.inputs[0]; // { name: 'input', elementType: 'float32', dims: [null, 3, 224, 224] }
 * info.layout;    // 'NCHW'
 * ```
 */
export async function inspectOnnx(call: string, bytes: Uint8Array, options: InspectOnnxOptions = {}): Promise<OnnxModelInfo> {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
    throw new InvalidArgumentError(call, 'bytes', 'the bytes of an ONNX file (a non-empty Uint8Array)', bytes);
  }
  const where = `${call}: ${options.source ?? 'the ONNX bytes'}`;
  const maxBytes = options.maxBytes ?? MAX_ONNX_BYTES;
  if (bytes.byteLength > maxBytes) {
    throw new LoadError(`${where} holds ${bytes.byteLength} bytes, more than the ${maxBytes} allowed; refused`);
  }
  const proto = await loadOnnxProto(call);
  let model: onnx.ModelProto;
  try {
    model = proto.ModelProto.decode(bytes);
  } catch (err) {
    throw new LoadError(`${where} is not an ONNX model (${notOnnxHint(bytes)}protobuf: ${(err as Error).message})`, { cause: err });
  }
  const irVersion = int64ToNumber(model.irVersion);
  const graph = model.graph;
  if (!(irVersion >= 3) || graph == null || (graph.output ?? []).length === 0 || (model.opsetImport ?? []).length === 0) {
    throw new LoadError(`${where} is not an ONNX model (${notOnnxHint(bytes)}no graph with outputs, IR version or opset in it)`);
  }
  refuseExternalData(graph, where, 0);
  const weights = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !weights.has(i.name ?? '')).map((i) => describe(i, where));
  if (inputs.length === 0) throw new LoadError(`${where} is not an ONNX model with inputs (its graph reads none)`);
  const outputs = (graph.output ?? []).map((o) => describe(o, where));
  const defaultDomain = (model.opsetImport ?? []).find((o) => o.domain == null || o.domain === '' || o.domain === 'ai.onnx');
  return {
    inputs,
    outputs,
    opset: defaultDomain === undefined ? undefined : int64ToNumber(defaultDomain.version),
    irVersion,
    producer: model.producerName ?? '',
    layout: detectImageLayout(inputs[0]?.dims ?? null),
  };
}

function notOnnxHint(bytes: Uint8Array): string {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (head.startsWith('{')) return 'it looks like JSON, such as a TF.js model.json, which loadBase reads; ';
  if (head.startsWith('<')) return 'it looks like HTML or XML, perhaps an error page; ';
  return '';
}
