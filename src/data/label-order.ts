/**
 * The order of class names, the same in Node and browsers and the same as Keras's. A module of its own so that
 * browser builds need not carry the Node-only folder scan to sort labels.
 */

/** Compares by Unicode code points, like Python's `sorted()` on `os.listdir` (what Keras uses for class folders). */
export function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a);
  const cb = Array.from(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = (ca[i] as string).codePointAt(0)! - (cb[i] as string).codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}
