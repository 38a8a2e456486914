import { describe, expect, it } from 'vitest';
import { mapWithConcurrency, prefetchMap } from '../../src/internal/concurrency';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapWithConcurrency', () => {
  it('keeps at most `limit` calls in flight and returns results in order', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    const out = await mapWithConcurrency(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (x) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await tick((x * 7) % 5);
        inFlight--;
        return x * 2;
      },
      (n) => done.push(n),
    );
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(peak).toBe(3);
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe('prefetchMap', () => {
  it('yields in order with a bounded window, and an early stop leaves no unhandled rejection', async () => {
    let started = 0;
    const gen = prefetchMap(Array.from({ length: 10 }, (_, i) => i), 4, async (x) => {
      started++;
      await tick(10 - x);
      if (x === 5) throw new Error('boom');
      return x;
    });
    const first = await gen.next();
    expect(first.value).toBe(0);
    expect(started).toBeLessThanOrEqual(5);
    const seen = [first.value];
    for await (const v of gen) {
      seen.push(v);
      if (v === 3) break;
    }
    expect(seen).toEqual([0, 1, 2, 3]);
    await tick(30); // the in-flight call for 5 rejects after the consumer left: must not surface
    expect(started).toBeLessThanOrEqual(8);
  });
});
