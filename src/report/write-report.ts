/**
 * `writeReport`: a self-contained HTML report (inline SVG charts, images as data URLs, no script) plus the charts as
 * standalone SVG files: training histories, the comparison of bases, the evaluation with its confusion matrix, and
 * sample images with their predictions. Charts are Vega-Lite specs rendered to SVG by the optional peers vega and
 * vega-lite, loaded on the first call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, LoadError, TlKitError, UnsupportedError } from '../errors';
import { isNode } from '../internal/env';
import { checkOptionKeys, checkOptionsObject, checkSeed } from '../internal/validate';
import { FolderWriteFailure, writeFileAtomic } from '../io/atomic';
import type { BaseComparison } from '../pipeline/compare';
import type { EvaluationResult } from '../pipeline/evaluate';
import { comparisonSpec, confusionMatrixSpec, historySpec, type RunHistory } from './charts';
import { renderHtml, type Section } from './html';
import { sampleSections, type ReportSample } from './samples';
import { comparisonTable, evaluationSummary } from './tables';
import { renderSvgs } from './vega';

export type { ReportSample } from './samples';

/**
 * A training history: a tfjs `History` or any object with per-epoch arrays under `history`.
 *
 * @category reports
 */
export interface HistoryLike {
  /**
   * Values per epoch keyed `loss` and `val_loss`, and `acc`/`val_acc` (tfjs) or `accuracy`/`val_accuracy` (Keras);
   * other keys are ignored.
   */
  readonly history: Readonly<Record<string, readonly unknown[]>>;
}

/**
 * What to put in the report; every part is optional, but one of histories, comparison, evaluation or samples is needed.
 *
 * @category reports
 */
export interface ReportContent {
  /**
   * Report title.
   * @defaultValue `'tl-kit training report'`
   */
  readonly title?: string;
  /** Training histories by name (one colour per entry). Taken from `comparison` when omitted. */
  readonly histories?: Readonly<Record<string, HistoryLike>>;
  /** The result of `compareBases`: a table and a chart of accuracy before and after training per base. */
  readonly comparison?: readonly BaseComparison[];
  /** The result of `evaluate`: metrics, per-class table and the confusion matrix. */
  readonly evaluation?: EvaluationResult;
  /**
   * Which model or base `evaluation` (and the samples' predictions) belong to, shown in the Evaluation section and the
   * confusion matrix's title.
   * @defaultValue the name of the `comparison` entry whose `evaluation` is this very object, else none
   */
  readonly evaluationName?: string;
  /**
   * Images to show: up to 20, chosen at random with `seed`, in a 4 x 5 grid with their true class and, when a sample
   * carries `predictedLabelName`, the prediction; samples whose prediction is wrong are also listed in a
   * "Misclassified" strip (the most confident mistakes first).
   */
  readonly samples?: readonly ReportSample[];
}

/**
 * Options of {@link writeReport}.
 *
 * @category reports
 */
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

/** Every ReportContent and WriteReportOptions name, so a misspelt one is refused. */
const CONTENT_KEYS: Readonly<Record<keyof ReportContent, true>> = { title: true, histories: true, comparison: true, evaluation: true, samples: true, evaluationName: true };
const OPTION_KEYS: Readonly<Record<keyof WriteReportOptions, true>> = { seed: true, thumbnailSize: true };

/**
 * Paths of the files {@link writeReport} wrote.
 *
 * @category reports
 */
export interface ReportFiles {
  /** The HTML report. */
  readonly html: string;
  /** The standalone SVG charts. */
  readonly svg: readonly string[];
}

function numbers(values: readonly unknown[] | undefined): number[] {
  return Array.isArray(values) ? values.map((v) => (typeof v === 'number' ? v : Number.NaN)) : [];
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Whether `e` has every part of an {@link EvaluationResult} the report reads (cards, table, confusion matrix). */
function isEvaluation(e: unknown): boolean {
  if (!isRecord(e) || !Array.isArray(e.labelNames) || !e.labelNames.every(isText)) return false;
  const k = e.labelNames.length;
  const runtime = e.runtime;
  return (
    isText(e.split) &&
    typeof e.exampleCount === 'number' &&
    Array.isArray(e.confusionMatrix) &&
    e.confusionMatrix.length === k &&
    e.confusionMatrix.every((row: unknown) => Array.isArray(row) && row.length === k && row.every((v) => typeof v === 'number')) &&
    Array.isArray(e.perClass) &&
    e.perClass.every((c: unknown) => isRecord(c) && isText(c.label) && typeof c.support === 'number') &&
    isRecord(e.macro) &&
    (runtime == null || (isRecord(runtime) && (runtime.summary === undefined || isText(runtime.summary))))
  );
}

/** Whether `r` has every part of a {@link BaseComparison} row the report reads. */
function isComparisonRow(r: unknown): boolean {
  return (
    isRecord(r) &&
    isText(r.name) &&
    isRecord(r.baseline) &&
    isEvaluation(r.evaluation) &&
    isRecord(r.history) &&
    isRecord(r.history.history) &&
    Array.isArray(r.history.epoch) &&
    typeof r.trainSeconds === 'number' &&
    typeof r.totalSeconds === 'number' &&
    (r.runtime == null || (isRecord(r.runtime) && (r.runtime.summary === undefined || isText(r.runtime.summary))))
  );
}

function historyRuns(histories: Readonly<Record<string, HistoryLike>>): { loss: RunHistory[]; accuracy: RunHistory[] } {
  const loss: RunHistory[] = [];
  const accuracy: RunHistory[] = [];
  for (const [name, { history: h }] of Object.entries(histories)) {
    loss.push({ name, train: numbers(h.loss), validation: numbers(h.val_loss) });
    const trainAcc = h.acc ?? h.accuracy;
    if (trainAcc) accuracy.push({ name, train: numbers(trainAcc), validation: numbers(h.val_acc ?? h.val_accuracy) });
  }
  return { loss, accuracy };
}

/** Checks the content's shape before anything is drawn or allocated. */
function checkContent(call: string, content: ReportContent): void {
  if (content.title !== undefined && typeof content.title !== 'string') throw new InvalidArgumentError(call, 'title', 'a string', content.title);
  if (content.histories !== undefined) {
    if (typeof content.histories !== 'object' || content.histories === null || Array.isArray(content.histories)) {
      throw new InvalidArgumentError(call, 'histories', 'an object of { history } by name', content.histories);
    }
    for (const [name, h] of Object.entries(content.histories)) {
      if (typeof h !== 'object' || h === null || typeof h.history !== 'object' || h.history === null) {
        throw new InvalidArgumentError(call, `histories.${name}`, 'an object with a history record (a tfjs History)', h);
      }
    }
  }
  if (content.comparison !== undefined && !Array.isArray(content.comparison)) {
    throw new InvalidArgumentError(call, 'comparison', 'the array compareBases returns', content.comparison);
  }
  content.comparison?.forEach((row: unknown, i) => {
    if (!isComparisonRow(row)) throw new InvalidArgumentError(call, `comparison[${i}]`, 'a row of the array compareBases returns', row);
  });
  if (content.evaluation !== undefined && !isEvaluation(content.evaluation)) {
    throw new InvalidArgumentError(call, 'evaluation', 'the result of evaluate()', content.evaluation);
  }
  if (content.evaluationName !== undefined && typeof content.evaluationName !== 'string') {
    throw new InvalidArgumentError(call, 'evaluationName', 'a string', content.evaluationName);
  }
  if (content.samples === undefined) return;
  if (!Array.isArray(content.samples)) throw new InvalidArgumentError(call, 'samples', 'an array of { image, labelName }', content.samples);
  content.samples.forEach((s: ReportSample, i) => {
    const at = `samples[${i}]`;
    if (typeof s !== 'object' || s === null) throw new InvalidArgumentError(call, at, 'an object { image, labelName }', s);
    if (!(s.image instanceof tf.Tensor) || s.image.rank !== 3 || s.image.isDisposed) {
      throw new InvalidArgumentError(call, `${at}.image`, 'an undisposed [height, width, channels] tensor', s.image);
    }
    if (typeof s.labelName !== 'string') throw new InvalidArgumentError(call, `${at}.labelName`, 'a string', s.labelName);
    if (s.predictedLabelName !== undefined && typeof s.predictedLabelName !== 'string') {
      throw new InvalidArgumentError(call, `${at}.predictedLabelName`, 'a string', s.predictedLabelName);
    }
    if (s.probability !== undefined && !(typeof s.probability === 'number' && s.probability >= 0 && s.probability <= 1)) {
      throw new InvalidArgumentError(call, `${at}.probability`, 'a number in [0, 1]', s.probability);
    }
  });
}

/**
 * Writes a report to `dir`: `report.html` (self-contained: charts inline, images as data URLs, no scripts or network)
 * and each chart as a standalone SVG (`loss.svg`, `accuracy.svg`, `comparison.svg`, `confusion-matrix.svg`). Node
 * only. The charts are drawn by the optional peers `vega` and `vega-lite` (npm install vega vega-lite), loaded on the
 * first call.
 *
 * @param dir - output folder (created if missing; existing report files are replaced).
 * @param content - histories, comparison, evaluation and samples; see {@link ReportContent}.
 * @param options - see {@link WriteReportOptions}.
 * @returns the paths written.
 * @throws {@link InvalidArgumentError} for a bad argument or an empty content.
 * @throws {@link UnsupportedError} outside Node, or when vega or vega-lite is not installed.
 * @throws {@link LoadError} when writing fails (the cause is kept).
 * @example
 * ```ts
 * const table = await compareBases(entries, data, { epochs: 10 });
 * const samples = await data.getRandomRawImages(20, { split: 'test' });
 * await writeReport('./report', { comparison: table, evaluation: table[0].evaluation, samples });
 * tf.dispose(samples.map((s) => s.image));
 * ```
 *
 * @category reports
 */
export async function writeReport(dir: string, content: ReportContent, options: WriteReportOptions = {}): Promise<ReportFiles> {
  const call = 'writeReport';
  if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError(call, 'dir', 'a folder path', dir);
  if (typeof content !== 'object' || content === null) throw new InvalidArgumentError(call, 'content', 'an object', content);
  checkOptionKeys<ReportContent>(call, content, CONTENT_KEYS, [], 'content');
  checkOptionsObject(call, options);
  checkOptionKeys<WriteReportOptions>(call, options, OPTION_KEYS);
  const seed = options.seed ?? 0;
  checkSeed(call, seed);
  const thumb = options.thumbnailSize ?? 160;
  if (!Number.isInteger(thumb) || thumb < 16) throw new InvalidArgumentError(call, 'thumbnailSize', 'an integer >= 16', thumb);
  checkContent(call, content);
  const histories =
    content.histories ?? (content.comparison ? Object.fromEntries(content.comparison.map((c) => [c.name, c.history])) : undefined);
  if (!histories && !content.comparison && !content.evaluation && !content.samples) {
    throw new InvalidArgumentError(call, 'content', 'an object with histories, comparison, evaluation or samples', content);
  }
  if (!isNode()) throw new UnsupportedError(`${call}: writing files needs Node; in a browser, render the charts with tfjs-vis`);

  const evaluation = content.evaluation;
  const evaluationName =
    content.evaluationName ?? (evaluation ? content.comparison?.find((c) => c.evaluation === evaluation)?.name : undefined);
  // Charts first (one Vega render each), then the sections in reading order.
  const charts: { name: string; spec: Parameters<typeof renderSvgs>[1][number] }[] = [];
  if (histories && Object.keys(histories).length > 0) {
    const runs = historyRuns(histories);
    charts.push({ name: 'loss.svg', spec: historySpec(runs.loss, 'Loss', 'cross-entropy', false) });
    if (runs.accuracy.length > 0) charts.push({ name: 'accuracy.svg', spec: historySpec(runs.accuracy, 'Accuracy', 'accuracy', true) });
  }
  if (content.comparison && content.comparison.length > 0) {
    const numClasses = content.comparison[0]?.evaluation.labelNames.length ?? 0;
    const bases = content.comparison.map((c) => ({ name: c.name, before: c.baseline.accuracy, after: c.evaluation.accuracy }));
    charts.push({ name: 'comparison.svg', spec: comparisonSpec(bases, numClasses) });
  }
  if (evaluation) {
    const title = `Confusion matrix: ${evaluationName ? `${evaluationName}, ` : ''}${evaluation.split} split`;
    charts.push({ name: 'confusion-matrix.svg', spec: confusionMatrixSpec(evaluation.confusionMatrix, evaluation.labelNames, title) });
  }
  const svgs = await renderChartsOrThrow(call, charts.map((c) => c.spec));
  const svgOf = (name: string): string => svgs[charts.findIndex((c) => c.name === name)] ?? '';
  const sections: Section[] = [];
  if (charts.some((c) => c.name === 'loss.svg')) {
    sections.push({ title: 'Training history', html: `<div class="charts">${svgOf('loss.svg')}${svgOf('accuracy.svg')}</div>` });
  }
  if (content.comparison && content.comparison.length > 0) {
    sections.push({
      title: 'Comparison of bases',
      html: `${comparisonTable(content.comparison)}<div class="charts">${svgOf('comparison.svg')}</div>`,
    });
  }
  if (evaluation) {
    sections.push({
      title: evaluationName ? `Evaluation: ${evaluationName}` : 'Evaluation',
      html: `${evaluationSummary(evaluation, evaluationName)}<div class="charts">${svgOf('confusion-matrix.svg')}</div>`,
    });
  }
  if (content.samples && content.samples.length > 0) sections.push(...(await sampleSections(content.samples, seed, thumb, evaluationName)));
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
    for (const [i, c] of charts.entries()) svg.push(await write(c.name, svgs[i] ?? ''));
    return { html: await write('report.html', html), svg };
  } catch (err) {
    if (err instanceof FolderWriteFailure) {
      throw new LoadError(`${call}: cannot write the report to ${dir}: ${err.describe()}`, { cause: err.cause });
    }
    throw new LoadError(`${call}: cannot write the report to ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Renders the charts; a failure inside Vega (not a missing peer) is reported as the call's own. */
async function renderChartsOrThrow(call: string, specs: Parameters<typeof renderSvgs>[1]): Promise<string[]> {
  try {
    return await renderSvgs(call, specs);
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new UnsupportedError(
      `${call}: Vega could not draw a chart (tl-kit needs vega@^6 and vega-lite@^6): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
