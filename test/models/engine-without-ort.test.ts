/**
 * Where onnxruntime-node cannot be imported, 'auto' stays on tfjs and says why, and 'onnxruntime' is a typed error
 * naming the package. The import is replaced by one that fails as a missing package does.
 */
import { describe, expect, it, vi } from 'vitest';
import { UnsupportedError } from '../../src/errors';
import { Wrapper } from '../../src/models/wrapper';
import { evaluateBaseline } from '../../src/pipeline/evaluate';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';

vi.mock('../../src/runtime/onnx/session', async (original) => ({
  ...(await original<typeof import('../../src/runtime/onnx/session')>()),
  createOnnxSession: async (call: string) => {
    throw new UnsupportedError(`${call}: the optional package onnxruntime-node is not installed; install it with \`npm install onnxruntime-node onnx-proto\``);
  },
}));

describe('without onnxruntime-node', () => {
  it("'auto' runs the base on tfjs and reports the missing package; 'onnxruntime' throws naming it", async () => {
    const data = makeTestSource();
    const auto = Wrapper(tinyConvBnBase());
    const result = await evaluateBaseline(auto, data);
    expect(result.runtime?.engine).toBe('tfjs');
    expect(result.runtime?.fallback).toMatch(/^ONNX Runtime not used: the optional package onnxruntime-node is not installed/);
    const strict = Wrapper(tinyConvBnBase(), { engine: 'onnxruntime' });
    await expect(evaluateBaseline(strict, data)).rejects.toThrow(/evaluateBaseline: the optional package onnxruntime-node is not installed/);
    auto.dispose();
    strict.dispose();
    data.dispose();
  });
});
