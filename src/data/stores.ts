/**
 * Sample stores behind `fromSamples` and `fromTensors`, and the label resolution they share.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors';
import type { SampleStore } from './batches';
import { decodeToPixels, type DecoderChoice } from './decode';
import { toRgb } from './pixels';
import { compareCodePoints } from './scan';
import type { Sample } from './sources';

/** Maps sample labels to class indices: string labels sorted by code point (or by `labelNames`), integers as is. */
export function resolveSampleLabels(
  call: string,
  samples: readonly Pick<Sample, 'label'>[],
  labelNames: readonly string[] | undefined,
): { labels: number[]; labelNames: string[] } {
  const strings = samples.every((s) => typeof s.label === 'string');
  const numbers = samples.every((s) => typeof s.label === 'number');
  if (samples.length > 0 && !strings && !numbers) {
    throw new InvalidArgumentError(call, 'label', 'all strings or all class indices', samples.map((s) => s.label).slice(0, 10));
  }
  if (strings && samples.length > 0) {
    const names = labelNames ? [...labelNames] : [...new Set(samples.map((s) => s.label as string))].sort(compareCodePoints);
    const index = new Map(names.map((n, i) => [n, i]));
    const labels = samples.map((s) => {
      const i = index.get(s.label as string);
      if (i === undefined) throw new InvalidArgumentError(call, 'label', `one of labelNames ${JSON.stringify(names)}`, s.label);
      return i;
    });
    return { labels, labelNames: names };
  }
  const labels = samples.map((s) => s.label as number);
  const max = labels.reduce((a, b) => Math.max(a, b), -1);
  const count = labelNames ? labelNames.length : max + 1;
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= count) {
      throw new InvalidArgumentError(call, 'label', `an integer class index in [0, ${count})`, l);
    }
  }
  const names = labelNames ? [...labelNames] : Array.from({ length: count }, (_, i) => String(i));
  return { labels, labelNames: names };
}

/** A store over user samples; ids default to the path/URL or `sample-<i>`. */
export function sampleStore(samples: readonly Sample[], labels: readonly number[], decoder: DecoderChoice): SampleStore {
  const ids = samples.map((s, i) =>
    s.id ?? (typeof s.source === 'string' ? s.source : s.source instanceof URL ? s.source.href : `sample-${i}`),
  );
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) throw new InvalidArgumentError('DataLoader.fromSamples', `samples[${i}].id`, 'a unique id', id);
    seen.add(id);
  });
  return {
    ids,
    labels,
    load: (i, target) => decodeToPixels((samples[i] as Sample).source, target, decoder),
    dispose: () => undefined,
  };
}

/** A store over a cloned `[n, h, w, c]` tensor; one image is read back per load. */
export function tensorStore(xs: tf.Tensor4D, labels: readonly number[]): SampleStore {
  const own = tf.clone(xs);
  const [, h, w, c] = own.shape;
  return {
    ids: labels.map((_, i) => `sample-${i}`),
    labels,
    load: async (i) => {
      const one = tf.tidy(() => tf.clipByValue(tf.round(tf.cast(tf.slice(own, [i, 0, 0, 0], [1, h, w, c]), 'float32')), 0, 255));
      try {
        const values = await one.data();
        return toRgb(Uint8Array.from(values), w, h, c);
      } finally {
        one.dispose();
      }
    },
    dispose: () => own.dispose(),
  };
}
