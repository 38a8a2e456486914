/** The message of the innermost cause of an error, for "... (reason)" suffixes that keep the real reason visible. */
export function rootReason(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 8; depth++) {
    const next = (current as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  if (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    return typeof code === 'string' && !current.message.includes(code) ? `${code}: ${current.message}` : current.message;
  }
  try {
    return String(current);
  } catch {
    return `a thrown ${typeof current}`; // an object without a prototype, or whose toString throws
  }
}
