/**
 * `writeReport`: a self-contained HTML report (inline SVG charts, images as data URLs) plus the charts as standalone
 * SVG files: training histories, the comparison of bases, the confusion matrix and a grid of sample images.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, LoadError, UnsupportedError } from '../errors';
import { checkOptionsObject, checkSeed } from '../internal/validate';
import { FolderWriteFailure, writeFileAtomic } from '../io/atomic';
import { shuffled } from '../internal/rng';
import type { BaseComparison } from '../pipeline/compare';
import type { EvaluationResult } from '../pipeline/evaluate';
import { encodePng } from './png';
import { confusionMatrixChart, escapeXml, groupedBarChart, lineChart, PALETTE, type Series } from './svg';
import { renderHtml, type Section } from './html';

/** A training history: a tfjs `History` or any object with per-epoch arrays under `history`. */
export interface HistoryLike {
  /** Values per epoch keyed `loss`, `acc`, `val_loss`, `val_acc` (others are ignored). */
  readonly history: Readonly<Record<string, readonly unknown[]>>;
}

/** An image to show in the sample grid; `DataLoader.getRandomRawImages` returns these. */
export interface ReportSample {
  /** RGB pixels `[height, width, 3]`, 0..255 (stays the caller's). */
  readonly image: tf.Tensor3D;
  /** Class name shown under the image. */
  readonly labelName: string;
  /** Where it came from (file name), shown as a tooltip. */
  readonly id?: string;
}

/** What to put in the report; every part is optional. */
export interface ReportContent {
  /**
   * Report title.
   * @defaultValue `'tl-kit training report'`
   */
  readonly title?: string;
  /** Training histories by name (one chart line pair per entry). Taken from `comparison` when omitted. */
  readonly histories?: Readonly<Record<string, HistoryLike>>;
  /** The result of `compareBases`: a table and a chart of baseline vs final accuracy. */
  readonly comparison?: readonly BaseComparison[];
  /** The result of `evaluate`: metrics and the confusion matrix. */
  readonly evaluation?: EvaluationResult;
  /** Raw images; up to 20, chosen at random with `seed`, are shown in a 4 x 5 grid. */
  readonly samples?: readonly ReportSample[];
}

/** Options of {@link writeReport}. */
export interface WriteReportOptions {
  /**
   * Seed for choosing which samples are shown.
   * @defaultValue `0`
   */
  readonly seed?: number;
  /**
   * Longest side of the sample thumbnails in pixels.
   * @defaultValue `160`
   */
  readonly thumbnailSize?: number;
}

/** Paths of the files {@link writeReport} wrote. */
export interface ReportFiles {
  /** The HTML report. */
  readonly html: string;
  /** The standalone SVG charts. */
  readonly svg: readonly string[];
}

function numbers(values: readonly unknown[] | undefined): number[] {
  return (values ?? []).map((v) => (typeof v === 'number' ? v : Number.NaN));
}

function historyCharts(histories: Readonly<Record<string, HistoryLike>>): { loss: string; accuracy: string } {
  const loss: Series[] = [];
  const acc: Series[] = [];
  Object.entries(histories).forEach(([name, h], i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const multi = Object.keys(histories).length > 1;
    const label = (what: string): string => (multi ? `${name} ${what}` : what);
    loss.push({ name: label('train'), values: numbers(h.history.loss), color });
    if (h.history.val_loss) loss.push({ name: label('validation'), values: numbers(h.history.val_loss), color, dashed: true });
    const trainAcc = h.history.acc ?? h.history.accuracy;
    const valAcc = h.history.val_acc ?? h.history.val_accuracy;
    if (trainAcc) acc.push({ name: label('train'), values: numbers(trainAcc), color });
    if (valAcc) acc.push({ name: label('validation'), values: numbers(valAcc), color, dashed: true });
  });
  return {
    loss: lineChart(loss, { title: 'Loss', xLabel: 'epoch', yLabel: 'cross-entropy' }),
    accuracy: lineChart(acc, { title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy', yRange: [0, 1] }),
  };
}

const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const fixed = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

function comparisonTable(rows: readonly BaseComparison[]): string {
  const best = Math.max(...rows.map((r) => r.evaluation.accuracy));
  const body = rows
    .map(
      (r) =>
        `<tr${r.evaluation.accuracy === best ? ' class="best"' : ''}><td>${escapeXml(r.name)}</td>` +
        `<td>${pct(r.baseline.accuracy)}</td><td>${pct(r.evaluation.accuracy)}</td><td>${fixed(r.evaluation.loss)}</td>` +
        `<td>${r.history.epoch.length}</td><td>${r.trainSeconds.toFixed(1)} s</td><td>${r.totalSeconds.toFixed(1)} s</td></tr>`,
    )
    .join('\n');
  return (
    '<table><thead><tr><th>Base</th><th>Baseline accuracy</th><th>Test accuracy</th><th>Test loss</th>' +
    `<th>Epochs</th><th>Training time</th><th>Total time</th></tr></thead><tbody>\n${body}\n</tbody></table>`
  );
}

function evaluationTable(e: EvaluationResult): string {
  const summary: [string, string][] = [
    ['Split', e.split],
    ['Examples', String(e.numExamples)],
    ['Accuracy', pct(e.accuracy)],
    ['Loss', fixed(e.loss)],
  ];
  if (e.rocAuc !== undefined) {
    summary.push(['Precision', fixed(e.precision)], ['Recall', fixed(e.recall)], ['F1', fixed(e.f1)], ['ROC AUC', fixed(e.rocAuc)]);
  }
  summary.push(['Macro F1', fixed(e.macro.f1)]);
  const cards = summary
    .map(([k, v]) => `<div class="metric"><div class="metric-value">${escapeXml(v)}</div><div class="metric-name">${k}</div></div>`)
    .join('');
  const rows = e.perClass
    .map(
      (c) =>
        `<tr><td>${escapeXml(c.label)}</td><td>${fixed(c.precision)}</td><td>${fixed(c.recall)}</td><td>${fixed(c.f1)}</td><td>${c.support}</td></tr>`,
    )
    .join('\n');
  return (
    `<div class="metrics">${cards}</div>` +
    '<table><thead><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th></tr></thead>' +
    `<tbody>\n${rows}\n</tbody></table>`
  );
}

/** Downscales to `max` on the longest side and reads 8-bit RGB. */
async function thumbnail(image: tf.Tensor3D, max: number): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const [h, w] = image.shape;
  const scale = Math.min(1, max / Math.max(h, w));
  const th = Math.max(1, Math.round(h * scale));
  const tw = Math.max(1, Math.round(w * scale));
  const t = tf.tidy(() => {
    const f = tf.cast(image, 'float32');
    const rgb = image.shape[2] === 1 ? tf.tile(f, [1, 1, 3]) : tf.slice(f, [0, 0, 0], [-1, -1, 3]);
    const resized = scale < 1 ? tf.image.resizeBilinear(rgb as tf.Tensor3D, [th, tw], true) : rgb;
    return tf.cast(tf.clipByValue(tf.round(resized), 0, 255), 'int32');
  });
  const data = await t.data();
  t.dispose();
  return { rgb: Uint8Array.from(data), width: tw, height: th };
}

async function sampleGrid(samples: readonly ReportSample[], seed: number, max: number): Promise<string> {
  const chosen = shuffled(samples, seed).slice(0, 20);
  const figures: string[] = [];
  for (const s of chosen) {
    const [h, w] = s.image.shape;
    const { rgb, width, height } = await thumbnail(s.image, max);
    const png = await encodePng(rgb, width, height);
    const src = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
    const tip = s.id ? ` title="${escapeXml(s.id)}"` : '';
    figures.push(
      `<figure${tip}><div class="frame"><img src="${src}" width="${width}" height="${height}" alt="${escapeXml(s.labelName)}"/></div>` +
        `<figcaption><strong>${escapeXml(s.labelName)}</strong><span>${w} × ${h}</span></figcaption></figure>`,
    );
  }
  return `<div class="grid">${figures.join('\n')}</div>`;
}

/**
 * Writes a report to `dir`: `report.html` (self-contained: charts inline, images as data URLs, no scripts or network)
 * and each chart as a standalone SVG (`loss.svg`, `accuracy.svg`, `comparison.svg`, `confusion-matrix.svg`). Node only.
 *
 * @param dir - output folder (created if missing; existing report files are replaced).
 * @param content - histories, comparison, evaluation and samples; see {@link ReportContent}.
 * @param options - see {@link WriteReportOptions}.
 * @returns the paths written.
 * @throws {@link InvalidArgumentError} for a bad argument or an empty content.
 * @throws {@link UnsupportedError} outside Node.
 * @throws {@link LoadError} when writing fails (the cause is kept).
 * @example
 * ```ts
 * const table = await compareBases(entries, data, { epochs: 10 });
 * const samples = await data.getRandomRawImages(20);
 * await writeReport('./report', { comparison: table, evaluation: table[0].evaluation, samples });
 * tf.dispose(samples.map((s) => s.image));
 * ```
 */
export async function writeReport(dir: string, content: ReportContent, options: WriteReportOptions = {}): Promise<ReportFiles> {
  const call = 'writeReport';
  if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError(call, 'dir', 'a folder path', dir);
  if (typeof content !== 'object' || content === null) throw new InvalidArgumentError(call, 'content', 'an object', content);
  checkOptionsObject(call, options);
  const seed = options.seed ?? 0;
  checkSeed(call, seed);
  const thumb = options.thumbnailSize ?? 160;
  if (!Number.isInteger(thumb) || thumb < 16) throw new InvalidArgumentError(call, 'thumbnailSize', 'an integer >= 16', thumb);
  const histories =
    content.histories ?? (content.comparison ? Object.fromEntries(content.comparison.map((c) => [c.name, c.history])) : undefined);
  if (!histories && !content.comparison && !content.evaluation && !content.samples) {
    throw new InvalidArgumentError(call, 'content', 'an object with histories, comparison, evaluation or samples', content);
  }
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (typeof proc?.versions?.node !== 'string') {
    throw new UnsupportedError(`${call}: writing files needs Node; in a browser, render the charts with tfjs-vis`);
  }
  const files: { name: string; svg: string }[] = [];
  const sections: Section[] = [];
  if (histories && Object.keys(histories).length > 0) {
    const charts = historyCharts(histories);
    files.push({ name: 'loss.svg', svg: charts.loss }, { name: 'accuracy.svg', svg: charts.accuracy });
    sections.push({ title: 'Training history', html: `<div class="charts">${charts.loss}${charts.accuracy}</div>` });
  }
  if (content.comparison && content.comparison.length > 0) {
    const chart = groupedBarChart(
      content.comparison.map((c) => ({ label: c.name, values: [c.baseline.accuracy, c.evaluation.accuracy] })),
      ['baseline (validation)', 'after training (test)'],
      'Accuracy by base',
      'accuracy',
    );
    files.push({ name: 'comparison.svg', svg: chart });
    sections.push({ title: 'Comparison of bases', html: `${comparisonTable(content.comparison)}<div class="charts">${chart}</div>` });
  }
  if (content.evaluation) {
    const e = content.evaluation;
    const chart = confusionMatrixChart(e.confusionMatrix, e.labelNames, `Confusion matrix (${e.split})`);
    files.push({ name: 'confusion-matrix.svg', svg: chart });
    sections.push({ title: 'Evaluation', html: `${evaluationTable(e)}<div class="charts">${chart}</div>` });
  }
  if (content.samples && content.samples.length > 0) {
    sections.push({ title: 'Sample images', html: await sampleGrid(content.samples, seed, thumb) });
  }
  const html = renderHtml(content.title ?? 'tl-kit training report', sections);
  try {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    await fs.mkdir(dir, { recursive: true });
    // Each file is written to a temporary sibling and renamed over the old one; a failure (a full disk) removes it.
    const write = async (name: string, text: string): Promise<string> => {
      const target = path.join(dir, name);
      await writeFileAtomic(target, text);
      return target;
    };
    const svg: string[] = [];
    for (const f of files) svg.push(await write(f.name, f.svg));
    return { html: await write('report.html', html), svg };
  } catch (err) {
    if (err instanceof FolderWriteFailure) {
      throw new LoadError(`${call}: cannot write the report to ${dir}: ${err.describe()}`, { cause: err.cause });
    }
    throw new LoadError(`${call}: cannot write the report to ${dir}: ${(err as Error).message}`, { cause: err });
  }
}
