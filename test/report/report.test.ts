import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/report/write-report';
import { crc32, encodePng } from '../../src/report/png';
import { niceTicks } from '../../src/report/svg';
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
    const files = await writeReport(dir, { comparison, evaluation: fakeEvaluation(), samples }, { seed: 3 });
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
    expect(loss).toContain('MobileNetV2 validation');
    expect(loss.match(/<path /g)).toHaveLength(4); // train + validation per base
    const cm = await readFile(join(dir, 'confusion-matrix.svg'), 'utf8');
    expect(cm.match(/<rect x=/g)).toHaveLength(9);
    expect(cm).toContain('cats &amp; dogs');
    expect(cm).not.toContain('<script>');

    const html = await readFile(files.html, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|src="http|href="http/); // nothing external, nothing executable
    const body = html.slice(html.indexOf('<html'));
    checkXml(body.replace(/<meta [^>]*>/g, ''));
    expect(html.match(/<figure/g)).toHaveLength(20); // the 4 x 5 grid
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).toContain('<td>MobileNetV2</td><td>48.0%</td><td>93.0%</td>');
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
      `[InvalidArgumentError: writeReport: content must be an object with known keys only (title, histories, comparison, evaluation, samples) (did you mean 'evaluation'?), got "evaluaton"]`,
    );
    await expect(writeReport(dir, { ...content, title: null } as never)).rejects.toThrow(/writeReport: content.title must be left out/);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
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

  it('picks nice axis ticks', () => {
    expect(niceTicks(0, 1, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.22, 0.7, 6)).toEqual([0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  });
});
