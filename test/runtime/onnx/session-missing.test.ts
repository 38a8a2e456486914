/** Without onnxruntime-node installed, sessions fail with a typed error that says how to install it. */
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../../src/internal/optional-import', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/internal/optional-import')>();
  return {
    ...original,
    importOptional: async (specifier: string) => {
      if (specifier === 'onnxruntime-node') {
        throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return original.importOptional(specifier);
    },
  };
});

const { createOnnxSession } = await import('../../../src/runtime/onnx/session');

describe('createOnnxSession without onnxruntime-node', () => {
  it('throws UnsupportedError naming the package and how to install it', async () => {
    await expect(createOnnxSession('Wrapper', new Uint8Array([8, 1]))).rejects.toThrowErrorMatchingInlineSnapshot(
      `[UnsupportedError: Wrapper: the optional package onnxruntime-node is not installed; install it with \`npm install onnxruntime-node onnx-proto\` (on Linux x64, put onnxruntime-node-install=skip in .npmrc first, so that its install does not download CUDA files)]`,
    );
    await expect(createOnnxSession('Wrapper', new Uint8Array([8, 1]))).rejects.toMatchObject({ name: 'UnsupportedError', code: 'UNSUPPORTED' });
  });
});
