import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport, type ReportSample } from '../../src/report/write-report';
import { crc32, encodePng } from '../../src/report/png';
import { RUN_COLORS } from '../../src/report/charts';
import type { BaseComparison } from '../../src/pipeline/compare';
import type { EvaluationResult } from '../../src/pipeline/evaluate';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Minimal XML well-formedness: every tag closes in order, attributes quoted, one root. */
function checkXml(text: string): string[] {
  const stack: string[] = [];
  const roots: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  let m: RegExpExecArray | null;
  const seen: string[] = [];
  let last = 0;
  while ((m = tag.exec(text))) {
    const between = text.slice(last, m.index);
    expect(between.includes('<')).toBe(false); // nothing that failed to parse as a tag
    last = tag.lastIndex;
    if (!m[2]) continue;
    const [, close, name, , self] = m;
    seen.push(name!);
    if (close) expect(stack.pop()).toBe(name);
    else if (!self) {
      if (stack.length === 0) roots.push(name!);
      stack.push(name!);
    } else if (stack.length === 0) roots.push(name!);
  }
  expect(stack).toEqual([]);
  expect(roots).toHaveLength(1);
  return seen;
}

/** The text of every SVG `<text>` element, unescaped. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'),
  );
}

/** The plotted lines of a Vega line chart: run name (from the aria label), stroke colour, dashed or not. */
function lineStrokes(svg: string): { run: string; color: string; dashed: boolean }[] {
  return [...svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="line mark"[^>]* stroke="([^"]+)"[^>]*stroke-dasharray="([^"]+)"/g)].map(
    (m) => ({ run: /run: ([^;]+)/.exec(m[1]!)?.[1] ?? '', color: m[2]!, dashed: m[3] !== '1,0' }),
  );
}

/** sRGB hex to CIE L*a*b* (D65). */
function lab(hex: string): [number, number, number] {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const xyz = [
    (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
    0.2126 * r + 0.7152 * g + 0.0722 * b,
    (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
  ].map((t) => (t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29)) as [number, number, number];
  return [116 * xyz[1] - 16, 500 * (xyz[0] - xyz[1]), 200 * (xyz[1] - xyz[2])];
}

const deltaE = (a: readonly number[], b: readonly number[]): number => Math.hypot(...a.map((v, i) => v - (b[i] as number)));

const history = (loss: number[], acc: number[]) => ({
  epoch: loss.map((_, i) => i),
  history: { loss, acc, val_loss: loss.map((l) => l * 1.1), val_acc: acc.map((a) => a * 0.95) },
});

function fakeEvaluation(): EvaluationResult {
  return {
    split: 'test',
    exampleCount: 9,
    runtime: undefined,
    loss: 0.41,
    accuracy: 6 / 9,
    labelNames: ['cats & dogs', 'birds', '<script>'],
    labelMode: 'categorical',
    confusionMatrix: [
      [2, 1, 0],
      [0, 1, 1],
      [1, 0, 3],
    ],
    perClass: [
      { label: 'cats & dogs', precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3 },
      { label: 'birds', precision: 0.5, recall: 0.5, f1: 0.5, support: 2 },
      { label: '<script>', precision: 0.75, recall: 0.75, f1: 0.75, support: 4 },
    ],
    macro: { precision: 0.64, recall: 0.64, f1: 0.64 },
  };
}

describe('writeReport', () => {
  it('writes a self-contained HTML report and well-formed standalone SVG charts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-report-'));
    dirs.push(dir);
    const comparison = [
      { name: 'MobileNetV2', h: history([0.7, 0.5, 0.35, 0.3], [0.55, 0.75, 0.86, 0.9]), base: 0.48, acc: 0.93 },
      { name: 'InceptionV3', h: history([0.69, 0.45, 0.3, 0.22], [0.6, 0.8, 0.9, 0.95]), base: 0.51, acc: 0.95 },
    ].map(
      (c) =>
        ({
          name: c.name,
          baseline: { loss: 0.7, accuracy: c.base, exampleCount: 20 },
          history: c.h,
          evaluation: { ...fakeEvaluation(), accuracy: c.acc },
          trainSeconds: 12.5,
          totalSeconds: 14,
        }) as unknown as BaseComparison,
    );
    const samples = Array.from({ length: 25 }, (_, i) => ({
      image: tf.cast(tf.fill([30 + i, 40, 3], (i * 10) % 256), 'int32') as tf.Tensor3D,
      labelName: i % 2 ? 'cat' : 'dog',
      id: `img-${i}.jpg`,
    }));
    const before = tf.memory().numTensors;
    const files = await writeReport(dir, { comparison, evaluation: comparison[0]!.evaluation, samples }, { seed: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(samples.every((s) => !s.image.isDisposed)).toBe(true);
    expect(basename(files.html)).toBe('report.html');
    expect(files.svg.map((f) => basename(f))).toEqual(['loss.svg', 'accuracy.svg', 'comparison.svg', 'confusion-matrix.svg']);
    for (const f of files.svg) {
      const svg = await readFile(f, 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      const tags = checkXml(svg);
      expect(tags).toContain('text');
    }
    const loss = await readFile(join(dir, 'loss.svg'), 'utf8');
    // One solid (train) and one dashed (validation) line per base, the two bases in different colours.
    const lines = lineStrokes(loss);
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.dashed).map((l) => l.run)).toEqual(['MobileNetV2', 'InceptionV3']);
    expect(new Set(lines.map((l) => l.color)).size).toBe(2);
    expect(texts(loss)).toEqual(expect.arrayContaining(['MobileNetV2', 'InceptionV3', 'train', 'validation']));
    const cm = await readFile(join(dir, 'confusion-matrix.svg'), 'utf8');
    expect(cm.match(/aria-roledescription="rect mark"/g)).toHaveLength(9);
    expect(texts(cm)).toEqual(expect.arrayContaining(['cats & dogs', '<script>', 'predicted', 'actual']));
    expect(cm).not.toContain('<script>');
    // The evaluation is the first base's object: the report names it without being told.
    expect(texts(cm)).toContain('Confusion matrix: MobileNetV2, test split');

    const html = await readFile(files.html, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|src="http|href="http/); // nothing external, nothing executable
    const body = html.slice(html.indexOf('<html'));
    checkXml(body.replace(/<meta [^>]*>/g, ''));
    expect(html.match(/<figure/g)).toHaveLength(20); // the 4 x 5 grid
    expect(html.match(/<svg /g)).toHaveLength(4);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length); // inline SVGs must not share clip-path or gradient ids
    expect(html).toContain('<td>MobileNetV2</td><td>48.0%</td><td>93.0%</td>');
    expect(html).toContain('<h2>Evaluation: MobileNetV2</h2>');
    expect(html).not.toContain('Misclassified'); // no sample carries a prediction
    expect(html).toMatch(/<span>40 × \d+<\/span>/);
    const png = /src="data:image\/png;base64,([^"]+)"/.exec(html)![1]!;
    expect(Buffer.from(png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    tf.dispose(samples.map((s) => s.image));
  });

  it('accepts a subset of the content and rejects empty content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-report-'));
    dirs.push(dir);
    const files = await writeReport(dir, { histories: { run: history([1, 0.5], [0.5, 0.8]) } });
    expect(files.svg.map((f) => basename(f))).toEqual(['loss.svg', 'accuracy.svg']);
    await expect(writeReport(dir, {})).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: writeReport: content must be an object with histories, comparison, evaluation or samples, got {}]`);
    await expect(writeReport('', { histories: {} })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: writeReport: dir must be a folder path, got ""]`);
  });

  it('refuses misspelt and null options and content keys before writing anything', async () => {
    const dir = join(tmpdir(), `tlkit-report-never-${process.pid}`);
    const content = { histories: { run: history([1, 0.5], [0.5, 0.8]) } };
    await expect(writeReport(dir, content, { thumbnailsize: 64 } as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: writeReport: options must be known option names (did you mean 'thumbnailSize'?), got "thumbnailsize"]`,
    );
    await expect(writeReport(dir, content, { seed: null } as never)).rejects.toThrow(/writeReport: seed must be left out/);
    await expect(writeReport(dir, { ...content, evaluaton: {} } as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: writeReport: content must be an object with known keys only (title, histories, comparison, evaluation, samples, evaluationName) (did you mean 'evaluation'?), got "evaluaton"]`,
    );
    await expect(writeReport(dir, { ...content, title: null } as never)).rejects.toThrow(/writeReport: content.title must be left out/);
    // Each was a raw TypeError while the tables were written: a row that is not compareBases's, an evaluation without
    // its per-class metrics, a history whose loss is not a list.
    const row = { name: 'a', baseline: { accuracy: 0.5 }, evaluation: fakeEvaluation(), history: history([1], [0.5]), trainSeconds: 1, totalSeconds: 2, runtime: undefined };
    await expect(writeReport(dir, { comparison: [1, 2] } as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: writeReport: comparison[0] must be a row of the array compareBases returns, got 1]`);
    await expect(writeReport(dir, { comparison: [{ ...row, history: undefined }] } as never)).rejects.toThrow(/writeReport: comparison\[0\] must be a row of the array compareBases returns/);
    await expect(writeReport(dir, { evaluation: { ...fakeEvaluation(), perClass: undefined } } as never)).rejects.toThrow(/writeReport: evaluation must be the result of evaluate\(\)/);
    await expect(writeReport(dir, { evaluation: { ...fakeEvaluation(), confusionMatrix: [[1]] } } as never)).rejects.toThrow(/writeReport: evaluation must be the result of evaluate\(\)/);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
    const out = await mkdtemp(join(tmpdir(), 'tlkit-report-'));
    dirs.push(out);
    const written = await writeReport(out, { comparison: [row], histories: { run: { history: { loss: 'not a list' } } } } as never);
    expect(written.svg.map((f) => basename(f))).toEqual(['loss.svg', 'comparison.svg']);
  });
});

describe('writeReport: what a reader needs to tell the parts apart', () => {
  const longNames = ['Random MobileNetV2 96px training run (control)', 'MobileNetV2-1.4 graph model at 224 px, pretrained', 'InceptionV3'];

  function binaryEvaluation(accuracy: number): EvaluationResult {
    return {
      split: 'test',
      exampleCount: 6,
      runtime: undefined,
      loss: 0.5,
      accuracy,
      labelNames: ['T-shirt/top', 'Shirt'],
      labelMode: 'binary',
      confusionMatrix: [
        [2, 1],
        [0, 3],
      ],
      perClass: [
        { label: 'T-shirt/top', precision: 1, recall: 2 / 3, f1: 0.8, support: 3 },
        { label: 'Shirt', precision: 0.75, recall: 1, f1: 6 / 7, support: 3 },
      ],
      macro: { precision: 0.875, recall: 5 / 6, f1: 0.83 },
      precision: 0.75,
      recall: 1,
      f1: 6 / 7,
      rocAuc: 0.9,
    };
  }

  const comparisonOf = (names: readonly string[]): BaseComparison[] =>
    names.map(
      (name, i) =>
        ({
          name,
          baseline: { loss: 0.7, accuracy: 0.5, numExamples: 6 },
          history: history([0.7, 0.6 - i * 0.05], [0.5, 0.6 + i * 0.1]),
          evaluation: binaryEvaluation(0.6 + i * 0.1),
          trainSeconds: 1,
          totalSeconds: 2,
        }) as unknown as BaseComparison,
    );

  it('shows long base names whole in legends and bar labels, each base in its own colour', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-report-'));
    dirs.push(dir);
    await writeReport(dir, { comparison: comparisonOf(longNames) });
    for (const file of ['loss.svg', 'accuracy.svg', 'comparison.svg']) {
      const svg = await readFile(join(dir, file), 'utf8');
      const shown = texts(svg);
      expect(shown.filter((t) => t.includes('…'))).toEqual([]); // Vega marks a truncated label with an ellipsis
      expect(shown).toEqual(expect.arrayContaining(longNames));
    }
    const lines = lineStrokes(await readFile(join(dir, 'accuracy.svg'), 'utf8'));
    const colorOf = new Map(lines.map((l) => [l.run, l.color]));
    expect(colorOf.size).toBe(3);
    const colors = [...colorOf.values()].map(lab);
    for (let i = 0; i < colors.length; i++) {
      for (let j = i + 1; j < colors.length; j++) expect(deltaE(colors[i]!, colors[j]!)).toBeGreaterThan(40);
    }
    const comparison = await readFile(join(dir, 'comparison.svg'), 'utf8');
    expect(texts(comparison)).toEqual(expect.arrayContaining(['chance (50%)', 'before training (validation)', 'after training (test)', '80.0%']));
  });

  it('names the evaluated base and the positive class of binary metrics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-report-'));
    dirs.push(dir);
    await writeReport(dir, { evaluation: binaryEvaluation(0.8), evaluationName: 'MobileNetV2 96px' });
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<h2>Evaluation: MobileNetV2 96px</h2>');
    expect(html).toContain('treat <strong>Shirt</strong> as the positive class');
    for (const card of ['Precision · Shirt', 'Recall · Shirt', 'F1 · Shirt', 'ROC AUC · Shirt']) expect(html).toContain(`>${card}</div>`);
    expect(texts(await readFile(join(dir, 'confusion-matrix.svg'), 'utf8'))).toContain('Confusion matrix: MobileNetV2 96px, test split');
    // Several classes: macro averages, no positive class.
    await writeReport(dir, { evaluation: fakeEvaluation() });
    const multi = await readFile(join(dir, 'report.html'), 'utf8');
    expect(multi).toContain('<h2>Evaluation</h2>');
    expect(multi).not.toContain('positive class');
    expect(multi).toContain('>Macro recall</div>');
  });

  it('shows predicted labels and lists the misclassified samples, most confident first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-report-'));
    dirs.push(dir);
    const predictions: [string, string, number][] = [
      ['cat', 'cat', 0.9],
      ['dog', 'cat', 0.6],
      ['dog', 'dog', 0.7],
      ['cat', 'dog', 0.95],
      ['cat', 'cat', 0.8],
    ];
    const samples: ReportSample[] = predictions.map(([labelName, predictedLabelName, probability], i) => ({
      image: tf.fill([8, 8, 3], i * 40, 'int32') as tf.Tensor3D,
      labelName,
      predictedLabelName,
      probability,
      id: `s${i}.png`,
    }));
    const before = tf.memory().numTensors;
    await writeReport(dir, { samples, evaluationName: 'TinyNet' });
    expect(tf.memory().numTensors).toBe(before);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    const [grid, strip] = html.split('<h2>Misclassified</h2>') as [string, string];
    expect(grid).toContain('<h2>Samples and predictions</h2>');
    expect(grid.match(/<figure/g)).toHaveLength(5);
    expect(grid.match(/✓ predicted/g)).toHaveLength(3);
    expect(grid).toContain('✗ predicted dog <span>95%</span>');
    expect(strip).toContain('2 of 5 images misclassified by TinyNet');
    expect([...strip.matchAll(/<figure title="([^"]+)"/g)].map((m) => m[1])).toEqual(['s3.png', 's1.png']);
    tf.dispose(samples.map((s) => s.image));
  });

  it('refuses malformed samples before drawing anything', async () => {
    const image = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    const dir = join(tmpdir(), 'tlkit-report-never-written');
    await expect(writeReport(dir, { samples: [{ image, labelName: 'a', probability: 1.5 }] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: writeReport: samples[0].probability must be a number in [0, 1], got 1.5]`);
    await expect(writeReport(dir, { samples: [{ image, labelName: 'a', predictedLabelName: 3 as unknown as string }] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: writeReport: samples[0].predictedLabelName must be a string, got 3]`);
    const flat = tf.zeros([4, 4]) as unknown as tf.Tensor3D;
    await expect(writeReport(dir, { samples: [{ image: flat, labelName: 'a' }] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: writeReport: samples[0].image must be an undisposed [height, width, channels] tensor, got a Tensor]`);
    await expect(writeReport(dir, { evaluation: binaryEvaluation(1), evaluationName: 7 as unknown as string })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: writeReport: evaluationName must be a string, got 7]`);
    tf.dispose([image, flat]);
  });
});

describe('report helpers', () => {
  it('encodes PNGs that decode back to the pixels', async () => {
    const rgb = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 13);
    const png = await encodePng(rgb, 3, 2);
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    const view = new DataView(png.buffer, png.byteOffset);
    expect(view.getUint32(16)).toBe(3); // width
    expect(view.getUint32(20)).toBe(2); // height
    const idatLength = view.getUint32(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect(Array.from(raw)).toEqual([0, ...rgb.subarray(0, 9), 0, ...rgb.subarray(9)]);
    // CRC-32 of "IEND" is the well-known 0xAE426082
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });

  it('colours the first runs far apart (CIE76 distance above 40 between any two of the first four)', () => {
    const first = RUN_COLORS.slice(0, 4).map(lab);
    for (let i = 0; i < first.length; i++) {
      for (let j = i + 1; j < first.length; j++) expect(deltaE(first[i]!, first[j]!)).toBeGreaterThan(40);
    }
  });
});
