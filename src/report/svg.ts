/**
 * Hand-written SVG charts for reports: line charts of training histories, a confusion-matrix heat map and a grouped
 * bar chart. Each returns a standalone SVG document (with the xmlns), which HTML can also inline.
 */

/** A categorical palette that stays readable for colour-blind readers (Okabe-Ito). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\"";

/** Escapes text for XML content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Rounds to a few significant digits for coordinates. */
function r(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** "Nice" tick values covering [min, max] (1, 2, 5 x 10^k steps). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max - min < 1e-12) {
    const pad = Math.abs(max) > 1e-12 ? Math.abs(max) * 0.1 : 1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag) as number;
  const start = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start; v <= max + step * 1e-6 || ticks.length < 2; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks[ticks.length - 1] as number) < max) ticks.push(Number(((ticks[ticks.length - 1] as number) + step).toPrecision(12)));
  return ticks;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.001) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/** One line of a chart. */
export interface Series {
  /** Legend text. */
  readonly name: string;
  /** y values at x = 1, 2, 3, ... (epochs); non-finite values break the line. */
  readonly values: readonly number[];
  /** Stroke colour. */
  readonly color: string;
  /** Dashed (validation) or solid (training). */
  readonly dashed?: boolean;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  /** Fixed y range (e.g. [0, 1] for accuracy); otherwise fitted to the data. */
  readonly yRange?: readonly [number, number];
}

/** A line chart with axes, grid, ticks, markers and a legend on the right. */
export function lineChart(series: readonly Series[], options: LineChartOptions): string {
  const width = options.width ?? 520;
  const legendColumns = 2;
  const legendRows = Math.ceil(series.length / legendColumns);
  const m = { top: 44, right: 20, bottom: 56 + legendRows * 20, left: 60 };
  const height = (options.height ?? 300) + legendRows * 20;
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const finite = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  let yMin = options.yRange ? options.yRange[0] : Math.min(...finite);
  let yMax = options.yRange ? options.yRange[1] : Math.max(...finite);
  if (finite.length === 0) [yMin, yMax] = [0, 1];
  const yTicks = options.yRange ? niceTicks(yMin, yMax, 6) : niceTicks(Math.min(0, yMin) === 0 && yMin >= 0 ? 0 : yMin, yMax, 6);
  const y0 = yTicks[0] as number;
  const y1 = yTicks[yTicks.length - 1] as number;
  const xOf = (i: number): number => m.left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const yOf = (v: number): number => m.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const xStep = Math.max(1, Math.ceil(n / 10));
  const parts: string[] = [];
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${m.left}" y="26" font-size="16" font-weight="600" fill="#1f2937">${escapeXml(options.title)}</text>`);
  for (const t of yTicks) {
    const y = yOf(t);
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${r(y)}" y2="${r(y)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${m.left - 8}" y="${r(y + 4)}" font-size="11" text-anchor="end" fill="#6b7280">${formatTick(t)}</text>`);
  }
  for (let i = 0; i < n; i += xStep) {
    const x = xOf(i);
    parts.push(`<line x1="${r(x)}" x2="${r(x)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#9ca3af"/>`);
    parts.push(`<text x="${r(x)}" y="${m.top + ph + 18}" font-size="11" text-anchor="middle" fill="#6b7280">${i + 1}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#9ca3af"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#9ca3af"/>`);
  parts.push(
    `<text x="${m.left + pw / 2}" y="${m.top + ph + 36}" font-size="12" text-anchor="middle" fill="#374151">${escapeXml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#374151">${escapeXml(options.yLabel)}</text>`,
  );
  for (const s of series) {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${r(xOf(i))} ${r(yOf(v))} `;
      pen = true;
    });
    if (d) parts.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="2.2" stroke-linejoin="round"${dash}/>`);
    if (n <= 40) {
      s.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        const fill = s.dashed ? '#ffffff' : s.color;
        parts.push(`<circle cx="${r(xOf(i))}" cy="${r(yOf(v))}" r="3" fill="${fill}" stroke="${s.color}" stroke-width="1.5"/>`);
      });
    }
  }
  const columnWidth = (width - m.left) / legendColumns;
  series.forEach((s, i) => {
    const lx = m.left + (i % legendColumns) * columnWidth;
    const y = height - 14 - (legendRows - 1 - Math.floor(i / legendColumns)) * 20;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<line x1="${r(lx)}" x2="${r(lx + 26)}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2.2"${dash}/>`);
    const label = s.name.length > 28 ? `${s.name.slice(0, 27)}…` : s.name;
    parts.push(`<text x="${r(lx + 34)}" y="${y}" font-size="12" fill="#374151">${escapeXml(label)}</text>`);
  });
  return svgDocument(width, height, options.title, parts);
}

/** Wraps drawing elements into a standalone SVG document. */
function svgDocument(width: number, height: number, title: string, parts: readonly string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${escapeXml(title)}" ${FONT}>\n<title>${escapeXml(title)}</title>\n${parts.join('\n')}\n</svg>\n`
  );
}

/** Mixes white into a blue as `t` goes from 0 to 1. */
function heat(t: number): string {
  const c0 = [247, 251, 255];
  const c1 = [8, 69, 148];
  const mix = c0.map((a, i) => Math.round(a + ((c1[i] as number) - a) * Math.max(0, Math.min(1, t))));
  return `rgb(${mix.join(',')})`;
}

/**
 * A confusion-matrix heat map: rows are actual classes, columns predicted ones; each cell shows its count and is
 * shaded by the fraction of its row (so recall per class is visible on the diagonal).
 */
export function confusionMatrixChart(matrix: readonly (readonly number[])[], labels: readonly string[], title = 'Confusion matrix'): string {
  const k = matrix.length;
  const cell = Math.max(28, Math.min(72, Math.floor(480 / Math.max(1, k))));
  const longest = Math.max(...labels.map((l) => Math.min(l.length, 18)), 4);
  const labelSpace = Math.min(150, 14 + longest * 7);
  const m = { top: 52 + labelSpace, left: 40 + labelSpace, right: 24, bottom: 24 };
  const width = m.left + k * cell + m.right;
  const height = m.top + k * cell + m.bottom;
  const short = (l: string): string => (l.length > 18 ? `${l.slice(0, 17)}…` : l);
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="#ffffff"/>`];
  parts.push(`<text x="16" y="26" font-size="16" font-weight="600" fill="#1f2937">${escapeXml(title)}</text>`);
  parts.push(
    `<text x="${m.left + (k * cell) / 2}" y="46" font-size="12" text-anchor="middle" fill="#374151">Predicted</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${m.top + (k * cell) / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#374151">Actual</text>`,
  );
  const fontSize = cell >= 44 ? 13 : 10;
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, j) => {
      const t = total > 0 ? count / total : 0;
      const x = m.left + j * cell;
      const y = m.top + i * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${heat(t)}" stroke="#ffffff" stroke-width="1"/>`);
      const color = t > 0.55 ? '#ffffff' : '#1f2937';
      const weight = i === j ? ' font-weight="600"' : '';
      parts.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + fontSize / 3}" font-size="${fontSize}" text-anchor="middle" fill="${color}"${weight}>${count}</text>`,
      );
    });
  });
  labels.forEach((l, i) => {
    const cy = m.top + i * cell + cell / 2;
    parts.push(`<text x="${m.left - 8}" y="${cy + 4}" font-size="12" text-anchor="end" fill="#374151">${escapeXml(short(l))}</text>`);
    const cx = m.left + i * cell + cell / 2;
    parts.push(
      `<text transform="translate(${cx + 4} ${m.top - 8}) rotate(-45)" font-size="12" text-anchor="start" fill="#374151">${escapeXml(short(l))}</text>`,
    );
  });
  return svgDocument(width, height, title, parts);
}

/** One group of bars. */
export interface BarGroup {
  /** Group label under the bars. */
  readonly label: string;
  /** One value per bar, in the order of the legend. */
  readonly values: readonly number[];
}

/** A grouped bar chart on a [0, 1] scale (accuracies), with value labels and a legend. */
export function groupedBarChart(groups: readonly BarGroup[], legend: readonly string[], title: string, yLabel: string): string {
  const perGroup = Math.max(1, legend.length);
  const bar = 26;
  // Wide enough for the bars and for the longest group label (about 7 px per character at 12 px, 20 at most), so
  // labels of neighbouring groups never overlap.
  const longestLabel = Math.min(20, Math.max(0, ...groups.map((g) => g.label.length)));
  const groupWidth = Math.max(perGroup * bar + 36, longestLabel * 7 + 16);
  const m = { top: 64, right: 24, bottom: 56, left: 60 };
  const width = Math.max(420, m.left + groups.length * groupWidth + m.right);
  const height = 340;
  const ph = height - m.top - m.bottom;
  const yOf = (v: number): number => m.top + ph - Math.max(0, Math.min(1, v)) * ph;
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="#ffffff"/>`];
  parts.push(`<text x="${m.left}" y="26" font-size="16" font-weight="600" fill="#1f2937">${escapeXml(title)}</text>`);
  legend.forEach((name, i) => {
    const x = m.left + i * 150;
    parts.push(`<rect x="${x}" y="38" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    parts.push(`<text x="${x + 18}" y="48" font-size="12" fill="#374151">${escapeXml(name)}</text>`);
  });
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    const y = yOf(t);
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${r(y)}" y2="${r(y)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${m.left - 8}" y="${r(y + 4)}" font-size="11" text-anchor="end" fill="#6b7280">${t}</text>`);
  }
  parts.push(
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#374151">${escapeXml(yLabel)}</text>`,
  );
  groups.forEach((g, gi) => {
    const gx = m.left + 18 + gi * groupWidth + (groupWidth - (perGroup * bar + 36)) / 2;
    g.values.forEach((v, i) => {
      const x = gx + i * bar;
      const y = yOf(Number.isFinite(v) ? v : 0);
      parts.push(
        `<rect x="${x}" y="${r(y)}" width="${bar - 4}" height="${r(m.top + ph - y)}" fill="${PALETTE[i % PALETTE.length]}" rx="2"/>`,
      );
      parts.push(
        `<text x="${x + (bar - 4) / 2}" y="${r(y - 4)}" font-size="10" text-anchor="middle" fill="#374151">${Number.isFinite(v) ? v.toFixed(2) : 'n/a'}</text>`,
      );
    });
    const label = g.label.length > 20 ? `${g.label.slice(0, 19)}…` : g.label;
    parts.push(
      `<text x="${gx + (perGroup * bar - 4) / 2}" y="${m.top + ph + 20}" font-size="12" text-anchor="middle" fill="#374151">${escapeXml(label)}</text>`,
    );
  });
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#9ca3af"/>`);
  return svgDocument(width, height, title, parts);
}
