import { describe, expect, it } from 'vitest';
import { UnsafeModelError } from '../../src';
import { checkRelativeWeightPath } from '../../src/io/manifest';

describe('checkRelativeWeightPath', () => {
  it("accepts paths that stay in the model folder, including tfjs's own './model.weights.bin'", () => {
    for (const ok of ['group1-shard1of2.bin', './model.weights.bin', 'weights/./a.bin', 'sub/dir/b.bin']) {
      expect(checkRelativeWeightPath(ok, 'x/model.json')).toBe(ok);
    }
  });

  it('refuses parent segments (also percent-encoded), absolute paths and other hosts', () => {
    for (const bad of ['../a.bin', 'a/../../b.bin', '%2e%2e/a.bin', '/etc/passwd', 'C:/w.bin', 'https://evil.example/w.bin', '//evil/w.bin', 'a\\b.bin']) {
      expect(() => checkRelativeWeightPath(bad, 'x/model.json')).toThrow(UnsafeModelError);
    }
  });
});
