/** Plain-text tables and error reports of the command-line tool. */
import { TlKitError } from '../errors';
import type { BaseComparison, EvaluationResult } from '../index';

/** A number with `digits` decimals, or `n/a` when it is not finite. */
export function fixed(value: number | undefined, digits = 3): string {
  return value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** Left-aligns the first column and right-aligns the others, with a rule under the header row. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ').trimEnd();
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The before / after table: one row per base. */
export function comparisonTable(rows: readonly BaseComparison[]): string {
  return table([
    ['base', 'accuracy before (validation)', 'accuracy after (test)', 'test loss', 'fit s'],
    ...rows.map((r) => [r.name, fixed(r.baseline.accuracy), fixed(r.evaluation.accuracy), fixed(r.evaluation.loss), fixed(r.trainSeconds, 1)]),
  ]);
}

/** Per-class precision, recall, F1 and support, then the macro averages (and ROC AUC for two classes). */
export function evaluationTable(result: EvaluationResult): string {
  const rows = [
    ['class', 'precision', 'recall', 'f1', 'support'],
    ...result.perClass.map((c) => [c.label, fixed(c.precision), fixed(c.recall), fixed(c.f1), String(c.support)]),
    ['macro average', fixed(result.macro.precision), fixed(result.macro.recall), fixed(result.macro.f1), String(result.exampleCount)],
  ];
  const auc = result.rocAuc === undefined ? '' : `\nROC AUC (positive class '${result.labelNames[1] ?? ''}'): ${fixed(result.rocAuc)}`;
  return `${table(rows)}${auc}`;
}

/** One line for an error: the tl-kit class, code and message; other errors by name and message. */
export function errorLine(error: unknown): string {
  if (error instanceof TlKitError) return `${error.name} [${error.code}]: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The stack of an error and of each of its causes, for `--verbose`. */
export function errorDetails(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    parts.push(`${depth === 0 ? '' : 'Caused by: '}${current instanceof Error ? (current.stack ?? errorLine(current)) : String(current)}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}
