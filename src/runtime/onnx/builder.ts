/**
 * An ONNX graph under construction, as plain objects shaped like onnx-proto's `I*Proto` interfaces: nodes, weight
 * initialisers (little-endian raw data), graph inputs and outputs. {@link GraphBuilder.toModel} gives the
 * `IModelProto` that onnx-proto encodes. Internal.
 */
import type { onnx } from 'onnx-proto';

/** ONNX `TensorProto.DataType` values used here. */
export const ELEMENT_FLOAT = 1;
export const ELEMENT_INT64 = 7;

/** ONNX `AttributeProto.AttributeType` values used here. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

/** An attribute value: an integer, a float (wrap it with {@link float}), a string, or a list of either number kind. */
export type AttrValue = number | { readonly float: number } | string | readonly number[] | { readonly floats: readonly number[] };

/** Marks a number as a FLOAT attribute (plain numbers are INT attributes). */
export function float(value: number): { readonly float: number } {
  return { float: value };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The bytes of `values` in little-endian order (ONNX raw_data): a view of `values` on little-endian hosts (the graph
 * is encoded before anything can change them, so no copy is made), a byte-swapped copy elsewhere.
 */
function rawBytes(values: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const copy = values.slice();
  const bytes = new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
  const width = copy.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return bytes;
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer (use float())`);
    return { name, type: ATTR.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: ATTR.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: ATTR.INTS, ints: [...(value as number[])] };
  if ('float' in (value as object)) return { name, type: ATTR.FLOAT, f: (value as { float: number }).float };
  return { name, type: ATTR.FLOATS, floats: [...(value as { floats: number[] }).floats] };
}

/** A graph input or output: name, element type and dims (a string for a symbolic dim such as the batch). */
export interface ValueInfo {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

function valueInfo(info: ValueInfo): onnx.IValueInfoProto {
  return {
    name: info.name,
    type: {
      tensorType: {
        elemType: ELEMENT_FLOAT,
        shape: { dim: info.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/**
 * Collects nodes and initialisers; every value name it hands out is unique. Initialisers refer to the arrays they are
 * given until the model is encoded: encode it before anything can write to them.
 */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  /** Bytes of weight data added so far. */
  weightBytes = 0;

  /** A fresh value name derived from `hint` (a layer name): `conv1`, `conv1_1`, ... */
  unique(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]+/g, '_') || 'value';
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserves `name` exactly (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`value name ${name} is already used`);
    this.used.add(name);
    return name;
  }

  /** Adds a float32 initialiser and returns its name. */
  floats(hint: string, values: Float32Array, dims: readonly number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== values.length) throw new Error(`initialiser ${hint}: ${values.length} values for dims [${dims.join(', ')}]`);
    const name = this.unique(hint);
    this.initializers.push({ name, dataType: ELEMENT_FLOAT, dims: [...dims], rawData: rawBytes(values) });
    this.weightBytes += values.byteLength;
    return name;
  }

  /** Adds a 1-D int64 initialiser (shapes, pads, axes) and returns its name. */
  int64s(hint: string, values: readonly number[]): string {
    const name = this.unique(hint);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dataType: ELEMENT_INT64, dims: [values.length], rawData: rawBytes(data) });
    return name;
  }

  /** Adds a float32 scalar initialiser (a 0-d tensor) and returns its name. */
  scalar(hint: string, value: number): string {
    return this.floats(hint, Float32Array.of(value), []);
  }

  /**
   * Adds a node `op(inputs) -> output` and returns the output's name. An empty string in `inputs` is an omitted
   * optional input.
   */
  node(op: string, inputs: readonly string[], hint: string, attrs: Readonly<Record<string, AttrValue>> = {}): string {
    return this.nodeTo(op, inputs, this.unique(hint), attrs);
  }

  /** Adds a node whose output is `output`, a name reserved before (the graph's output). */
  nodeTo(op: string, inputs: readonly string[], output: string, attrs: Readonly<Record<string, AttrValue>> = {}): string {
    const hint = output;
    this.nodes.push({
      opType: op,
      name: this.unique(`${hint}/${op}`),
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  /** Number of nodes so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Number of nodes of each op type so far. */
  countOps(op: string): number {
    return this.nodes.filter((n) => n.opType === op).length;
  }

  /** The model: one graph reading `input` and producing `output` (names reserved before and used by nodes). */
  toModel(graphName: string, input: ValueInfo, output: ValueInfo, opset: number, irVersion: number): onnx.IModelProto {
    return {
      irVersion,
      producerName: 'tl-kit',
      opsetImport: [{ domain: '', version: opset }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(input)],
        output: [valueInfo(output)],
      },
    };
  }
}
