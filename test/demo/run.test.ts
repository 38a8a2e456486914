/**
 * `npm run demo` end to end, made small: two bases, 20 images per class at 48 px, 2 epochs, cpu backend. Checks the
 * tutorial-shaped output and the report, as a user would see them.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(__dirname, '../..');
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const tsx = join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const child = spawn(process.execPath, [tsx, 'demo/run.ts', ...args], { cwd: repo });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

describe('npm run demo', () => {
  it('runs the whole flow offline and prints the comparison and the report path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tlkit-demo-'));
    dirs.push(dir);
    const out = join(dir, 'report');
    const { code, output } = await runDemo([
      '--backend', 'cpu', '--bases', 'mobilenet_v2,random_mobilenet_v2', '--samples', '20', '--epochs', '2',
      '--image-size', '48', '--cache-dir', join(dir, 'cache'), '--out', out,
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('T-shirt/top vs Shirt, 20 images per class, 48 px, 2 epochs, backend cpu');
    expect(output).toContain('train 32, validation 4, test 4');
    expect(output.match(/before training: loss \d\.\d{3}, accuracy \d\.\d{3} \(validation\)/g)).toHaveLength(2);
    expect(output.match(/after training: {2}loss \d\.\d{3}, accuracy \d\.\d{3} \(test\)/g)).toHaveLength(2);
    expect(output).toMatch(/MobileNetV2 48px\s+\d\.\d{3}\s+\d\.\d{3}/);
    expect(output).toMatch(/Random MobileNetV2 48px\s+\d\.\d{3}\s+\d\.\d{3}/);
    // The control's features keep a scale (not the ~1e-11 of random weights under BatchNorm's initial statistics).
    const scale = /pooled features on those images: random mean (\S+), std (\S+); pretrained mean (\S+), std (\S+)/.exec(output);
    expect(scale, output).not.toBeNull();
    expect(Number(scale![2])).toBeGreaterThan(0.01);
    expect(Number(scale![4])).toBeGreaterThan(0.01);
    expect(output).toContain(join(out, 'report.html'));
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    // The report shows the best base's predictions on the test images.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<h2>Samples and predictions</h2>');
    expect(html.match(/<figure/g)?.length).toBeGreaterThanOrEqual(4);
    expect(html).toMatch(/<h2>Evaluation: (Random )?MobileNetV2 48px<\/h2>/);
    // Predictions and confusion matrix come from the same pixels: as many mistakes in the strip as off the diagonal.
    const cm = readFileSync(join(out, 'confusion-matrix.svg'), 'utf8');
    const cells = new Map(
      [...cm.matchAll(/aria-label="predicted: ([^;]+); actual: ([^;]+); count: (\d+)/g)].map((m) => [`${m[1]}|${m[2]}`, m[1] !== m[2] ? Number(m[3]) : 0]),
    );
    expect(cells.size).toBe(4);
    const offDiagonal = [...cells.values()].reduce((a, b) => a + b, 0);
    const listed = /(\d+) of \d+ images misclassified/.exec(html)?.[1] ?? (html.includes('None of the') ? '0' : 'no summary');
    expect(listed).toBe(String(offDiagonal));
    expect(existsSync(join(dir, 'cache', 'fashion-mnist-0-6-n20', 'Shirt'))).toBe(true);
  }, 180_000);

  it('prints --help and exits 0; a bad flag exits 1 with the reason', async () => {
    const help = await runDemo(['--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('Usage: npm run demo -- [options]');
    const bad = await runDemo(['--epochs', 'ten']);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain("demo: --epochs: expected an integer 1..1000, got 'ten'\nRun `npm run demo -- --help` for the options.");
    expect(bad.output).not.toContain('    at ');
  }, 60_000);
});
