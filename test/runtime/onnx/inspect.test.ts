/** What inspectOnnx reads from an ONNX file, and what it refuses, on tl-kit's own conversions, the torch fixture and crafted files. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { convertLayersModel } from '../../../src/runtime/onnx/convert';
import { detectImageLayout, inspectOnnx } from '../../../src/runtime/onnx/inspect';
import { tinyConvBnBase } from '../../fixtures/bases';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/onnx/${name}`, import.meta.url));

/** tl-kit's conversion of a tiny base, decoded for editing. */
async function converted(): Promise<onnx.ModelProto> {
  const { bytes } = await convertLayersModel(tinyConvBnBase({ inputShape: [10, 12, 3] }));
  return onnx.ModelProto.decode(bytes);
}
const encode = (m: onnx.IModelProto) => onnx.ModelProto.encode(m).finish();

describe('detectImageLayout', () => {
  it('tells NCHW from NHWC by which side holds 1 or 3 channels, and gives up when both or neither do', () => {
    const cases: [readonly (number | null)[] | null, string | undefined][] = [
      [[null, 3, 224, 224], 'NCHW'],
      [[1, 1, 28, 28], 'NCHW'],
      [[null, 3, null, null], 'NCHW'],
      [[null, 224, 224, 3], 'NHWC'],
      [[8, null, null, 1], 'NHWC'],
      [[1, 3, 3, 3], undefined],
      [[1, 4, 32, 32], undefined],
      [[null, null, null, null], undefined],
      [[null, 3, 224], undefined],
      [null, undefined],
    ];
    for (const [dims, layout] of cases) expect(detectImageLayout(dims), JSON.stringify(dims)).toBe(layout);
  });
});

describe('inspectOnnx', () => {
  it("reads tl-kit's own conversion: NHWC input with a symbolic batch", async () => {
    const info = await inspectOnnx('test', encode(await converted()));
    expect(info).toEqual({
      inputs: [{ name: 'input', elementType: 'float32', dims: [null, 10, 12, 3] }],
      outputs: [{ name: 'features', elementType: 'float32', dims: [null, 5, 6, 8] }],
      opset: 17,
      irVersion: 8,
      producer: 'tl-kit',
      layout: 'NHWC',
    });
  });

  it('reads the torch fixture: NCHW input with symbolic batch, height and width, two outputs', async () => {
    const info = await inspectOnnx('test', new Uint8Array(await readFile(fixture('tiny_cnn.onnx'))));
    expect(info).toMatchObject({
      inputs: [{ name: 'pixels', elementType: 'float32', dims: [null, 3, null, null] }],
      outputs: [
        { name: 'features', elementType: 'float32', dims: [null, 16] },
        { name: 'feature_map', elementType: 'float32', dims: [null, 16, null, null] },
      ],
      producer: 'pytorch',
      layout: 'NCHW',
    });
    expect(info.opset).toBeGreaterThanOrEqual(17);
  });

  it('leaves weights listed as graph inputs (older exporters) out of the inputs', async () => {
    const model = await converted();
    const weight = model.graph?.initializer?.[0];
    model.graph?.input?.push({ name: weight?.name ?? '', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 3 }] } } } });
    const info = await inspectOnnx('test', encode(model));
    expect(info.inputs.map((i) => i.name)).toEqual(['input']);
  });

  it('refuses what is not a single-file ONNX model, and absurd sizes, with typed errors', async () => {
    await expect(inspectOnnx('test', new Uint8Array(0))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', option: 'bytes' });
    const noise = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251);
    await expect(inspectOnnx('test', noise)).rejects.toMatchObject({ code: 'LOAD' });
    const json = new TextEncoder().encode('{"modelTopology": {}, "weightsManifest": []}');
    await expect(inspectOnnx('test', json, { source: 'model.json' })).rejects.toThrow(
      /model\.json is not an ONNX model \(it looks like JSON, such as a TF\.js model\.json, which loadBase reads; /,
    );
    await expect(inspectOnnx('test', encode({ irVersion: 8, producerName: 'x' }))).rejects.toThrowErrorMatchingInlineSnapshot(
      `[LoadError: test: the ONNX bytes is not an ONNX model (no graph with outputs, IR version or opset in it)]`,
    );
    const bytes = encode(await converted());
    await expect(inspectOnnx('test', bytes, { maxBytes: 100, source: 'big.onnx' })).rejects.toThrow(
      /^test: big\.onnx holds \d+ bytes, more than the 100 allowed; refused$/,
    );

    const external = await converted();
    const weight = external.graph?.initializer?.[0] as onnx.ITensorProto;
    weight.rawData = new Uint8Array(0);
    weight.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    weight.externalData = [{ key: 'location', value: 'weights.bin' }];
    await expect(inspectOnnx('test', encode(external), { source: 'm.onnx' })).rejects.toThrow(
      /^test: m\.onnx: weight \S+ lives in an external data file; tl-kit reads single-file ONNX models only/,
    );

    const huge = await converted();
    const dims = huge.graph?.input?.[0]?.type?.tensorType?.shape?.dim as onnx.TensorShapeProto.IDimension[];
    dims[1] = { dimValue: 2 ** 40 };
    await expect(inspectOnnx('test', encode(huge))).rejects.toThrowErrorMatchingInlineSnapshot(
      `[LoadError: test: the ONNX bytes: input declares the dimension 1099511627776; refused]`,
    );
  });

  it('does not depend on the tfjs model once converted (plain bytes)', async () => {
    const input = tfl.input({ shape: [4, 4, 1] });
    const model = tfl.model({ inputs: input, outputs: tfl.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tfl.SymbolicTensor });
    const { bytes } = await convertLayersModel(model);
    model.dispose();
    expect((await inspectOnnx('test', bytes)).layout).toBe('NHWC');
  });
});
