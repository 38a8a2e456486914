/**
 * Sample stores behind `fromSamples` and `fromTensors`, and the label resolution they share.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors';
import { MAX_CLASSES } from '../internal/validate';
import type { SampleStore } from './batches';
import { mapWithConcurrency } from '../internal/concurrency';
import { decodeToPixels, type DecodeLimits, type DecoderChoice } from './decode';
import { DecodeFailure } from './decode-error';
import type { ResolvedOptions } from './loader-options';
import type { SkippedFile } from './loader-types';
import { toRgb } from './pixels';
import { compareCodePoints } from './label-order';
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
  // Every index is checked against the class count before the names are made: one index of 1e9 would otherwise
  // allocate a billion names.
  const count = labelNames ? labelNames.length : MAX_CLASSES;
  let max = -1;
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= count) {
      const expected = labelNames ? `an integer class index in [0, ${count})` : `an integer class index in [0, ${count}) (at most ${MAX_CLASSES} classes)`;
      throw new InvalidArgumentError(call, 'label', expected, l);
    }
    if (l > max) max = l;
  }
  const names = labelNames ? [...labelNames] : Array.from({ length: max + 1 }, (_, i) => String(i));
  return { labels, labelNames: names };
}

/** A store over user samples; ids default to the path/URL or `sample-<i>`. */
export function sampleStore(samples: readonly Sample[], labels: readonly number[], decoder: DecoderChoice, limits: DecodeLimits): SampleStore {
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
    load: (i, target) => decodeToPixels((samples[i] as Sample).source, target, decoder, limits),
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

/**
 * Checks every sample of a `fromSamples` store (`validate: 'decode'` decodes each at 8x8; `'header'` checks only
 * tensor sources here, the rest while iterating) and returns a store of the usable ones plus the skipped ids.
 */
export async function validateSamples(
  store: SampleStore,
  samples: readonly Sample[],
  o: Pick<ResolvedOptions, 'validate' | 'concurrency' | 'onProgress'>,
): Promise<{ kept: SampleStore; skipped: SkippedFile[] }> {
  const total = samples.length;
  const reasons = await mapWithConcurrency(
    samples,
    o.concurrency,
    async (sample, i) => {
      if (o.validate === 'header' && !(sample?.source instanceof tf.Tensor)) return undefined;
      try {
        await store.load(i, { height: 8, width: 8, mode: 'stretch' });
        return undefined;
      } catch (err) {
        if (err instanceof DecodeFailure) return err.message;
        throw err;
      }
    },
    (done) => o.onProgress?.({ phase: 'validate', done, total }),
  );
  const keep = reasons.flatMap((r, i) => (r === undefined ? [i] : []));
  const skipped = reasons.flatMap((r, i) => (r === undefined ? [] : [{ path: store.ids[i] as string, reason: r }]));
  const kept: SampleStore = {
    ids: keep.map((i) => store.ids[i] as string),
    labels: keep.map((i) => store.labels[i] as number),
    load: (j, target) => store.load(keep[j] as number, target),
    dispose: () => store.dispose(),
  };
  return { kept, skipped };
}
