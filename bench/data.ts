/**
 * DataLoader benchmark: decode+resize throughput with sharp on ~500x375 JPEGs, folder scan cost per validation
 * level, epoch throughput through tfjs (cpu backend), and peak RSS while iterating an epoch of 5,000 vs 20,000 images.
 * Writes docs/bench/data.md under the current folder. Run from the repository root: `npm run bench:data` (tsx).
 * Each RSS measurement runs in a fresh child process.
 *
 * Usage: tsx bench/data.ts [--runs 5] [--photos 300]        (main: everything, writes the report)
 *        tsx bench/data.ts rss <folder>                      (child: prints one JSON line)
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DataLoader } from '../src/data/data-loader';
import { decodeToPixels } from '../src/data/decode';
import { mapWithConcurrency } from '../src/internal/concurrency';

tf.env().set('PROD', true);

const here = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

/** A photo-like 500x375 JPEG: gradients plus texture, so the entropy-coded data is not trivially small. */
async function photo(seed: number, width = 500, height = 375): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = ((x * 255) / width + ((x * 7 + y * 13 + seed * 31) % 29)) & 255;
      raw[o + 1] = ((y * 255) / height + ((x * 3 + y * 5 + seed * 17) % 37)) & 255;
      raw[o + 2] = (Math.sin((x + seed) / 23) * 60 + Math.cos(y / 17) * 60 + 128) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const summary = (xs: number[], digits = 0): string =>
  `${median(xs).toFixed(digits)} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)})`;

/** Child mode: scan a folder, iterate one training epoch, report peak RSS. */
async function rssChild(folder: string): Promise<void> {
  await tf.setBackend('cpu');
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  const data = await DataLoader.fromDirectory(folder, { imageSize: 32, batchSize: 32, splitWeights: [8, 1, 1], validate: 'header' });
  const scanMs = performance.now() - t0;
  const afterScan = process.memoryUsage().rss;
  let images = 0;
  const t1 = performance.now();
  await data.trainBatches.forEachAsync((b) => {
    images += b.xs.shape[0];
    peak = Math.max(peak, process.memoryUsage().rss);
    tf.dispose([b.xs, b.ys]);
  });
  const epochMs = performance.now() - t1;
  clearInterval(timer);
  data.dispose();
  process.stdout.write(
    `${JSON.stringify({ images, peakMiB: peak / 2 ** 20, afterScanMiB: afterScan / 2 ** 20, scanMs, epochMs, numTensors: tf.memory().numTensors })}\n`,
  );
}

interface RssResult {
  images: number;
  peakMiB: number;
  afterScanMiB: number;
  scanMs: number;
  epochMs: number;
}

async function writeSmallSet(root: string, n: number): Promise<void> {
  const variants = await Promise.all(Array.from({ length: 8 }, (_, i) => photo(i, 64, 48)));
  const perClass = n / 2;
  for (const cls of ['a', 'b']) {
    await mkdir(join(root, cls), { recursive: true });
    await mapWithConcurrency(
      Array.from({ length: perClass }, (_, i) => i),
      32,
      (i) => writeFile(join(root, cls, `${i}.jpg`), variants[i % 8] as Buffer),
    );
  }
}

async function main(): Promise<void> {
  const runs = flag('runs', 5);
  const photos = flag('photos', 300);
  await tf.setBackend('cpu');
  const work = await mkdtemp(join(tmpdir(), 'tlkit-bench-'));
  const lines: string[] = [];
  try {
    // 1. decode + resize with sharp, the loader's per-image path, 16 in flight
    const jpegs = await Promise.all(Array.from({ length: photos }, (_, i) => photo(i)));
    const folder = join(work, 'photos');
    for (const cls of ['cat', 'dog']) await mkdir(join(folder, cls), { recursive: true });
    await Promise.all(jpegs.map((b, i) => writeFile(join(folder, i % 2 ? 'cat' : 'dog', `${i}.jpg`), b)));
    const avgKiB = jpegs.reduce((a, b) => a + b.length, 0) / jpegs.length / 1024;
    const paths = jpegs.map((_, i) => join(folder, i % 2 ? 'cat' : 'dog', `${i}.jpg`));
    const rate = async (fn: () => Promise<unknown>, count = photos): Promise<number[]> => {
      await fn(); // warm-up
      const out: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        await fn();
        out.push(count / ((performance.now() - t0) / 1000));
      }
      return out;
    };
    const decodeResize = await rate(() =>
      mapWithConcurrency(paths, 16, (p) => decodeToPixels(p, { height: 160, width: 160, mode: 'stretch' }, 'auto')),
    );
    const decodeCrop = await rate(() =>
      mapWithConcurrency(paths, 16, (p) => decodeToPixels(p, { height: 224, width: 224, mode: 'center-crop' }, 'auto')),
    );
    const decodeFull = await rate(() => mapWithConcurrency(paths, 16, (p) => decodeToPixels(p, undefined, 'auto')));
    const scanDecode = await rate(async () => (await DataLoader.fromDirectory(folder, { validate: 'decode' })).dispose());
    const scanHeader = await rate(async () => (await DataLoader.fromDirectory(folder, { validate: 'header' })).dispose());
    const epoch = await rate(async () => {
      const splits = { train: '[:-2]', validation: '[-2:-1]', test: '[-1:]' };
      const data = await DataLoader.fromDirectory(folder, { imageSize: 160, batchSize: 32, splits, validate: 'header' });
      await data.trainBatches.forEachAsync((b) => tf.dispose([b.xs, b.ys]));
      data.dispose();
    }, photos - 2);

    // 2. peak RSS: fresh child per run and size
    const rss: Record<number, RssResult[]> = {};
    for (const n of [5000, 20000]) {
      const root = join(work, `small-${n}`);
      await writeSmallSet(root, n);
      rss[n] = [];
      for (let r = 0; r < runs; r++) {
        const child = spawnSync(process.execPath, [...process.execArgv, here, 'rss', root], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (child.status !== 0) throw new Error(`rss child failed: ${child.stderr}`);
        rss[n]!.push(JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as RssResult);
      }
    }

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    lines.push(
      '# DataLoader benchmark',
      '',
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${availableParallelism()} cores available to the process (host: ${cpus().length} x ${cpu}), ` +
        `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, sharp ${sharp.versions.sharp} ` +
        `(libvips ${sharp.versions.vips}), tfjs ${tf.version_core} cpu backend.`,
      `- Method: \`npm run bench:data\` (bench/data.ts). ${photos} generated 500x375 photo-like JPEGs (quality 85, ` +
        `${avgKiB.toFixed(0)} KiB average) on disk; each figure is the median of ${runs} timed runs after one warm-up, ` +
        'with min and max. Decodes run 16 at a time (the loader default `concurrency`).',
      '',
      '## Decode + resize throughput (sharp)',
      '',
      '| What | images/s |',
      '| --- | --- |',
      `| decode + resize to 160x160 (stretch), file read included: the loader's per-image path | ${summary(decodeResize)} |`,
      `| decode + center-crop to 224x224 | ${summary(decodeCrop)} |`,
      `| decode at full size (what \`getRandomRawImages\` does) | ${summary(decodeFull)} |`,
      `| \`fromDirectory\` scan, \`validate: 'decode'\` (default: reduced-size decode of every file) | ${summary(scanDecode)} |`,
      `| \`fromDirectory\` scan, \`validate: 'header'\` | ${summary(scanHeader)} |`,
      `| one training epoch at 160x160 through tfjs (decode, resize, batch tensors, 'tf' preprocessing; scan included) | ${summary(epoch)} |`,
      '',
      '## Peak RSS while iterating one epoch',
      '',
      'Generated 64x48 JPEGs in two class folders, imageSize 32, batchSize 32, `validate: \'header\'`, one fresh Node ' +
        'process per run; RSS sampled every 20 ms and at every batch.',
      '',
      '| Images | peak RSS MiB | RSS after scan MiB | scan s | epoch s |',
      '| --- | --- | --- | --- | --- |',
      ...[5000, 20000].map((n) => {
        const r = rss[n]!;
        return `| ${n.toLocaleString('en-US')} | ${summary(r.map((x) => x.peakMiB))} | ${summary(r.map((x) => x.afterScanMiB))} | ${summary(
          r.map((x) => x.scanMs / 1000),
          1,
        )} | ${summary(r.map((x) => x.epochMs / 1000), 1)} |`;
      }),
      '',
      `Peak RSS grows by ${(median(rss[20000]!.map((x) => x.peakMiB)) - median(rss[5000]!.map((x) => x.peakMiB))).toFixed(0)} MiB ` +
        'from 5,000 to 20,000 images (medians): the per-sample state is an id, a path and a label; decoded images exist ' +
        'only for the batches in flight.',
      '',
    );
    const out = join(process.cwd(), 'docs', 'bench', 'data.md');
    await mkdir(join(out, '..'), { recursive: true });
    await writeFile(out, lines.join('\n'));
    process.stdout.write(lines.join('\n'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (args[0] === 'rss') await rssChild(args[1] as string);
else await main();
