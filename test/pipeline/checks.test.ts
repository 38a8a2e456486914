import { describe, expect, it } from 'vitest';
import type { ImageBatchSource } from '../../src/data/types';
import { Wrapper } from '../../src/models/wrapper';
import { evaluate } from '../../src/pipeline/evaluate';
import { fit } from '../../src/pipeline/fit';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from './helpers';

describe('checkSource', () => {
  it('refuses a hand-made source without imageSize or counts with the typed error, not a TypeError', async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase());
    const { imageSize: _size, ...noSize } = data;
    await expect(evaluate(model, noSize as unknown as ImageBatchSource)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: evaluate: data must be an ImageBatchSource (e.g. a DataLoader) with at least 2 classes, got {"labelNames":["dark","bright"],"numExamples":{"train":24,"validation":12,"te...]`);
    await expect(fit(model, { ...data, numExamples: {} } as unknown as ImageBatchSource)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: data must be an ImageBatchSource (e.g. a DataLoader) with at least 2 classes, got {"labelNames":["dark","bright"],"numExamples":{},"imageSize":[8,8],"labelMode...]`);
    model.dispose();
    data.dispose();
  });
});
