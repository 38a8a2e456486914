/**
 * The report's charts as Vega-Lite specifications: training histories, the comparison of bases and the confusion
 * matrix. Vega-Lite lays them out (axes, legends, label space), so no label is cut and no coordinate is computed
 * here; {@link ./vega} renders them to SVG.
 */
import type { TopLevelSpec } from 'vega-lite';

/** The report's font stack, shared with the HTML page. */
export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/**
 * Colours of the runs in the history charts: Okabe and Ito's colour-blind-safe set, ordered so that the first four
 * are far apart (blue, vermillion, bluish green, reddish purple). More than eight runs fall back to Tableau 20.
 */
export const RUN_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

/** Grey for "before training", blue for "after training" in the comparison chart. */
const PHASE_COLORS = ['#9CA3AF', '#0072B2'];

/** Shared look: fonts, muted axes, legends under the plot with labels never truncated (`labelLimit: 0`). */
const CONFIG = {
  font: FONT,
  background: '#ffffff',
  padding: 12,
  view: { stroke: null },
  title: { fontSize: 15, fontWeight: 600, anchor: 'start', color: '#1f2937', subtitleColor: '#6b7280', subtitleFontSize: 12, offset: 10 },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 500,
    labelColor: '#4b5563',
    titleColor: '#374151',
    gridColor: '#e5e7eb',
    domainColor: '#9ca3af',
    tickColor: '#9ca3af',
  },
  legend: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 500, labelLimit: 0, orient: 'bottom', direction: 'vertical' },
} as const;

/** One run's per-epoch values of one metric (training and, when present, validation). */
export interface RunHistory {
  /** Run (base) name, shown in the legend. */
  readonly name: string;
  /** Per-epoch training values; non-finite values leave a gap. */
  readonly train: readonly number[];
  /** Per-epoch validation values. */
  readonly validation?: readonly number[];
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/**
 * A line chart of one metric over epochs: one colour per run, solid for training and dashed for validation. A single
 * run is coloured by split instead, so its legend says train / validation once.
 */
export function historySpec(runs: readonly RunHistory[], title: string, yTitle: string, unitRange: boolean): TopLevelSpec {
  const rows = runs.flatMap((run) =>
    (
      [
        ['train', run.train],
        ['validation', run.validation ?? []],
      ] as const
    ).flatMap(([split, values]) => values.map((v, i) => ({ run: run.name, split, epoch: i + 1, value: finite(v) }))),
  );
  const splits = ['train', 'validation'];
  const single = runs.length === 1;
  // Line symbols in the split legend show the dash pattern; with one run the colour legend merges into it.
  const dashLegend = { title: 'split', symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolSize: 600 };
  const dash = {
    field: 'split',
    type: 'nominal',
    scale: { domain: splits, range: [[1, 0], [6, 4]] },
    legend: single ? dashLegend : { ...dashLegend, symbolStrokeColor: '#374151' },
  } as const;
  const names = runs.map((r) => r.name);
  const color = single
    ? { field: 'split', type: 'nominal', scale: { domain: splits, range: RUN_COLORS.slice(0, 2) }, legend: dashLegend }
    : {
        field: 'run',
        type: 'nominal',
        sort: names,
        scale: names.length <= RUN_COLORS.length ? { domain: names, range: RUN_COLORS } : { domain: names, scheme: 'tableau20' },
        legend: { title: 'base' },
      };
  const epochs = Math.max(1, ...rows.map((r) => r.epoch));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title },
    width: 440,
    height: 240,
    config: CONFIG,
    data: { values: rows },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: [1, Math.max(2, epochs)], nice: false },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: yTitle,
        scale: unitRange ? { domain: [0, 1] } : { zero: true },
      },
      color,
    },
    // Points in a layer of their own: on the line mark they would make Vega-Lite fill the split legend's symbols and
    // hide the dash patterns it exists to show.
    layer: [
      { mark: { type: 'line', strokeWidth: 2.2 }, encoding: { strokeDash: dash, detail: { field: 'split' } } },
      ...(epochs <= 40 ? [{ mark: { type: 'point', filled: true, size: 28, opacity: 1 }, encoding: { detail: { field: 'split' } } }] : []),
    ],
  } as TopLevelSpec;
}

/** One base in the comparison chart. */
export interface ComparedBase {
  /** Base name. */
  readonly name: string;
  /** Accuracy of the untrained head (validation split). */
  readonly before: number;
  /** Accuracy after training (test split). */
  readonly after: number;
}

/**
 * Horizontal grouped bars of accuracy before and after training per base, with the value at the end of each bar and
 * a dashed rule at chance level (one over the number of classes). Base names sit on the y axis, in full.
 */
export function comparisonSpec(bases: readonly ComparedBase[], numClasses: number): TopLevelSpec {
  const phases = ['before training (validation)', 'after training (test)'];
  const rows = bases.flatMap((b) => [
    { base: b.name, phase: phases[0], accuracy: finite(b.before) },
    { base: b.name, phase: phases[1], accuracy: finite(b.after) },
  ]);
  const y = { field: 'base', type: 'nominal', sort: bases.map((b) => b.name), title: null, axis: { labelLimit: 0, labelFontSize: 12 } };
  const yOffset = { field: 'phase', sort: phases };
  const layers: unknown[] = [
    {
      mark: { type: 'bar', cornerRadiusEnd: 2 },
      encoding: {
        y,
        yOffset,
        x: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
        color: { field: 'phase', type: 'nominal', sort: phases, scale: { domain: phases, range: PHASE_COLORS }, legend: { title: null } },
      },
    },
    {
      mark: { type: 'text', align: 'left', dx: 4, fontSize: 11, color: '#374151' },
      encoding: { y, yOffset, x: { field: 'accuracy', type: 'quantitative' }, text: { field: 'accuracy', format: '.1%' } },
    },
  ];
  if (Number.isInteger(numClasses) && numClasses >= 2) {
    const chance = [{ chance: 1 / numClasses, label: `chance (${(100 / numClasses).toFixed(0)}%)` }];
    layers.push(
      { data: { values: chance }, mark: { type: 'rule', strokeDash: [4, 4], color: '#6b7280' }, encoding: { x: { field: 'chance', type: 'quantitative' } } },
      {
        data: { values: chance },
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, y: -14, fontSize: 11, color: '#6b7280' },
        encoding: { x: { field: 'chance', type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Accuracy by base', subtitle: 'untrained head on the validation split, trained head on the test split' },
    width: 460,
    height: { step: 20 },
    config: CONFIG,
    data: { values: rows },
    layer: layers,
  } as TopLevelSpec;
}

/**
 * A confusion-matrix heat map: rows are actual classes, columns predicted ones; each cell shows its count and is
 * shaded by the share of its row, so the diagonal reads as recall per class.
 */
export function confusionMatrixSpec(matrix: readonly (readonly number[])[], labels: readonly string[], title: string): TopLevelSpec {
  const rows = matrix.flatMap((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, j) => ({
      actual: labels[i] ?? String(i),
      predicted: labels[j] ?? String(j),
      count,
      share: total > 0 ? count / total : 0,
    }));
  });
  const k = matrix.length;
  const step = Math.max(30, Math.min(64, Math.floor(480 / Math.max(1, k))));
  const longest = Math.max(0, ...labels.map((l) => l.length));
  const axis = { labelLimit: 180, labelFontSize: 12, ticks: false, domain: false };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'rows: actual class; columns: predicted; shade: share of the row' },
    width: { step },
    height: { step },
    config: CONFIG,
    data: { values: rows },
    encoding: {
      x: {
        field: 'predicted',
        type: 'nominal',
        sort: labels,
        title: 'predicted',
        axis: { ...axis, orient: 'top', labelAngle: k > 3 || longest * 7 > step ? -40 : 0, labelAlign: k > 3 || longest * 7 > step ? 'left' : 'center' },
      },
      y: { field: 'actual', type: 'nominal', sort: labels, title: 'actual', axis },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            scale: { domain: [0, 1], scheme: 'blues' },
            legend: { title: 'share of row', format: '.0%', orient: 'right', direction: 'vertical', gradientLength: Math.min(200, step * k) },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: step >= 44 ? 13 : 10 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.55', value: '#ffffff' }, value: '#1f2937' },
        },
      },
    ],
  } as TopLevelSpec;
}
