/** "Did you mean" help for misspelt names (layers, options): the names closest to a wanted one. */

/** Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Up to `count` names from `names`, closest to `wanted` first (ties keep the model's order). */
export function closestNames(wanted: string, names: readonly string[], count = 5): string[] {
  const lower = wanted.toLowerCase();
  return names
    .map((name, index) => ({ name, index, d: editDistance(lower, name.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || x.index - y.index)
    .slice(0, count)
    .map((x) => x.name);
}
