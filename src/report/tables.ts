/** The report's tables and metric cards: the comparison of bases and one evaluation. */
import type { BaseComparison } from '../pipeline/compare';
import type { EvaluationResult } from '../pipeline/evaluate';
import { escapeXml } from './html';

const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const fixed = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

/** One row per base; the best test accuracy is highlighted. */
export function comparisonTable(rows: readonly BaseComparison[]): string {
  const best = Math.max(...rows.map((r) => r.evaluation.accuracy));
  const body = rows
    .map(
      (r) =>
        `<tr${r.evaluation.accuracy === best ? ' class="best"' : ''}><td>${escapeXml(r.name)}</td>` +
        `<td>${pct(r.baseline.accuracy)}</td><td>${pct(r.evaluation.accuracy)}</td><td>${fixed(r.evaluation.loss)}</td>` +
        `<td>${r.history.epoch.length}</td><td>${r.trainSeconds.toFixed(1)} s</td><td>${r.totalSeconds.toFixed(1)} s</td>` +
        `<td>${escapeXml(r.runtime?.summary ?? r.evaluation.runtime?.summary ?? 'n/a')}</td></tr>`,
    )
    .join('\n');
  return (
    '<table><thead><tr><th>Base</th><th>Accuracy before training (validation)</th><th>Accuracy after training (test)</th>' +
    `<th>Test loss</th><th>Epochs</th><th>Training time</th><th>Total time</th><th>Frozen base ran on</th></tr></thead>` +
    `<tbody>\n${body}\n</tbody></table>`
  );
}

/**
 * What the evaluation is about (model, split, size, the positive class of binary metrics), its metric cards and the
 * per-class table. Binary data names the positive class in the cards themselves, so a card read alone is not
 * ambiguous.
 */
export function evaluationSummary(e: EvaluationResult, name: string | undefined): string {
  const binary = e.rocAuc !== undefined;
  const positive = e.labelNames[1] ?? 'class 1';
  const of = name ? `<strong>${escapeXml(name)}</strong> on the ` : 'The ';
  let note = `${of}${escapeXml(e.split)} split: ${e.exampleCount} images, ${e.labelNames.length} classes.`;
  if (binary) {
    note +=
      ` Precision, recall, F1 and ROC AUC treat <strong>${escapeXml(positive)}</strong> as the positive class ` +
      `(the second class; ${escapeXml(e.labelNames[0] ?? 'class 0')} is negative).`;
  }
  const cards: [string, string][] = [
    ['Accuracy', pct(e.accuracy)],
    ['Loss', fixed(e.loss)],
  ];
  if (binary) {
    const p = escapeXml(positive);
    cards.push(
      [`Precision · ${p}`, fixed(e.precision)],
      [`Recall · ${p}`, fixed(e.recall)],
      [`F1 · ${p}`, fixed(e.f1)],
      [`ROC AUC · ${p}`, fixed(e.rocAuc)],
    );
  } else {
    cards.push(['Macro precision', fixed(e.macro.precision)], ['Macro recall', fixed(e.macro.recall)]);
  }
  cards.push(['Macro F1', fixed(e.macro.f1)]);
  const cardHtml = cards
    .map(([k, v]) => `<div class="metric"><div class="metric-value">${v}</div><div class="metric-name">${k}</div></div>`)
    .join('');
  const rows = e.perClass
    .map(
      (c) =>
        `<tr><td>${escapeXml(c.label)}</td><td>${fixed(c.precision)}</td><td>${fixed(c.recall)}</td><td>${fixed(c.f1)}</td><td>${c.support}</td></tr>`,
    )
    .join('\n');
  return (
    `<p class="note">${note}</p><div class="metrics">${cardHtml}</div>` +
    '<table><thead><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th></tr></thead>' +
    `<tbody>\n${rows}\n</tbody></table>`
  );
}
