import { describe, expect, it } from 'vitest';
import { createRng, hashString, shuffled } from '../../src/internal/rng';

describe('rng', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 5 }, () => a.next());
    const sb = Array.from({ length: 5 }, () => b.next());
    const sc = Array.from({ length: 5 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    for (const v of sa) expect(v >= 0 && v < 1).toBe(true);
  });

  it('shuffles to a permutation without touching the input', () => {
    const input = Array.from({ length: 100 }, (_, i) => i);
    const out = shuffled(input, 7);
    expect(out).not.toEqual(input);
    expect([...out].sort((x, y) => x - y)).toEqual(input);
    expect(input[0]).toBe(0);
    expect(shuffled(input, 7)).toEqual(out);
  });

  it('hashes strings stably', () => {
    expect(hashString('cat/1.jpg', 1)).toBe(hashString('cat/1.jpg', 1));
    expect(hashString('cat/1.jpg', 1)).not.toBe(hashString('cat/1.jpg', 2));
    expect(hashString('cat/1.jpg', 1)).not.toBe(hashString('cat/2.jpg', 1));
  });
});
