/** Bounded-concurrency helpers for file scans and decode prefetch (plain promises, no tensors). */

/**
 * Runs `fn` on every item with at most `limit` calls in flight and returns the results in item order.
 * `onSettled` is called after each item completes (for progress reporting).
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  onSettled?: (done: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
      done++;
      onSettled?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Maps `fn` over `items` lazily, keeping up to `ahead` calls in flight, and yields the results in item order.
 * A consumer that stops early leaves at most `ahead` calls running; their results (or rejections) are dropped.
 * `fn` must not throw for an item it can report otherwise: a rejection ends the iteration with that error.
 */
export async function* prefetchMap<T, R>(
  items: readonly T[],
  ahead: number,
  fn: (item: T, index: number) => Promise<R>,
): AsyncGenerator<R, void, undefined> {
  const pending: Promise<R>[] = [];
  let next = 0;
  const launch = (): void => {
    while (pending.length < ahead && next < items.length) {
      const i = next++;
      const p = fn(items[i] as T, i);
      // Keeps a rejection of a call the consumer never awaits (early stop) from becoming an unhandled rejection.
      p.catch(() => undefined);
      pending.push(p);
    }
  };
  launch();
  while (pending.length > 0) {
    const value = await (pending.shift() as Promise<R>);
    launch();
    yield value;
  }
}
