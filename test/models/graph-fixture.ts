/**
 * A tiny tfjs graph model (GraphDef JSON + weights) written by hand: x [-1, 8, 8, 3] -> Conv2D (3x3, 4 filters, SAME)
 * -> Relu -> Mean over [1, 2] = 'features' [-1, 4]. Lets the graph-model path run through tfjs-converter offline.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });

/** Kernel values: deterministic, small. */
export function graphKernel(): Float32Array {
  return Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.sin(i * 0.7) * 0.3);
}

export function tinyGraphModelJson(shardName = 'weights.bin') {
  return {
    format: 'graph-model',
    generatedBy: 'tl-kit test',
    convertedBy: 'hand',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 8, 8, 3]) } } },
        {
          name: 'w',
          op: 'Const',
          attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([3, 3, 3, 4]) } }, dtype: { type: 'DT_FLOAT' } },
        },
        {
          name: 'axes',
          op: 'Const',
          attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims([2]) } }, dtype: { type: 'DT_INT32' } },
        },
        {
          name: 'conv',
          op: 'Conv2D',
          input: ['x', 'w'],
          attr: {
            T: { type: 'DT_FLOAT' },
            strides: { list: { i: ['1', '1', '1', '1'] } },
            dilations: { list: { i: ['1', '1', '1', '1'] } },
            padding: { s: b64('SAME') },
            data_format: { s: b64('NHWC') },
          },
        },
        { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
        {
          name: 'features',
          op: 'Mean',
          input: ['relu', 'axes'],
          attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } },
        },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: [shardName],
        weights: [
          { name: 'w', shape: [3, 3, 3, 4], dtype: 'float32' },
          { name: 'axes', shape: [2], dtype: 'int32' },
        ],
      },
    ],
  };
}

/** The weight bytes matching {@link tinyGraphModelJson}. */
export function tinyGraphWeights(): Buffer {
  return Buffer.concat([Buffer.from(graphKernel().buffer), Buffer.from(Int32Array.from([1, 2]).buffer)]);
}

/** Writes the tiny graph model to `dir` and returns the model.json path. */
export async function writeTinyGraphModel(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(tinyGraphModelJson()));
  await writeFile(join(dir, 'weights.bin'), tinyGraphWeights());
  return join(dir, 'model.json');
}
