/**
 * The Keras transfer-learning tutorial, in tl-kit, on the real Microsoft cats-vs-dogs photos.
 *
 *   npm start                                   download PetImages (786 MB, resumable), compare the default base
 *   npm start -- --data ~/PetImages             use a folder you already have (one sub-folder per class)
 *   npm start -- --base mobilenet_v2 --base nsfwjs:inception_v3 --base ./my-base/model.json
 *   npm start -- --base keras:VGG16 --base keras:InceptionV3 --base keras:ResNet101V2   the tutorial's own three
 *   npm start -- --help
 */
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
// Pick the backends explicitly; --backend chooses between them.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  DataLoader,
  KNOWN_BASES,
  applications,
  compareBases,
  loadBase,
  progressBar,
  writeReport,
  type BaseComparison,
  type BaseEntry,
  type ApplicationName,
  type BaseSpec,
  type Sample,
} from 'tl-kit';
import { loadNsfwBase, type NsfwBaseName } from 'tl-kit/nsfwjs';
import { DownloadError, downloadFile } from './download';
import { extractZip } from './extract';

/** The archive tfds's cats_vs_dogs builder downloads (Microsoft's Asirra / Kaggle PetImages set). */
export const PETIMAGES_URL =
  'https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip';
/** Its size in bytes (as the server reports it); Microsoft publishes no checksum, so pin one with --sha256. */
export const PETIMAGES_BYTES = 824_887_076;
/** The archive's file name in --cache-dir. */
const PETIMAGES_ZIP = 'kagglecatsanddogs_5340.zip';

const HELP = `Usage: npm start -- [options]

Options:
  --data DIR          image folder with one sub-folder per class (default: download PetImages into --cache-dir)
  --base SOURCE       a base to compare; repeat for several. A registry name (${KNOWN_BASES.slice(0, 3)
    .map((b) => b.name)
    .join(', ')}, ...),
                      an http(s) URL or a path / file:// URL of a model.json, or nsfwjs:mobilenet_v2 |
                      nsfwjs:inception_v3 | nsfwjs:mobilenet_v2_mid (offline), or keras:VGG16 | keras:InceptionV3 |
                      keras:ResNet50V2 | keras:ResNet101V2 | keras:MobileNetV2 (Keras's ImageNet weights, downloaded
                      once and cached; the tutorial compares VGG16, InceptionV3 and ResNet101V2). Default: mobilenet_v2
  --base-size N       input size for a base loaded from a URL or path that does not declare one
  --preprocessing P   pixel scaling of such a base: tf | unit | caffe | torch | none (default tf)
  --image-size N      images are resized to N x N for layers bases (default 160, the tutorial's)
  --samples N|all     images per class, to keep a CPU run short (default 500)
  --epochs N          training epochs per base (default 10)
  --backend B         wasm | cpu (default wasm)
  --out DIR           report folder (default cats-vs-dogs-report)
  --cache-dir DIR     where the archive and its extraction go (default ~/.cache/tl-kit-examples)
  --sha256 HEX        expected SHA-256 of the archive (printed after the first download)
  --url URL           where to download the archive from (default Microsoft's; a mirror of the same file)
  -h, --help          this text`;

interface Options {
  data?: string;
  bases: string[];
  baseSize?: number;
  preprocessing: 'tf' | 'unit' | 'caffe' | 'torch' | 'none';
  imageSize: number;
  samples: number | 'all';
  epochs: number;
  backend: 'wasm' | 'cpu';
  out: string;
  cacheDir: string;
  sha256?: string;
  url: string;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      base: { type: 'string', multiple: true },
      'base-size': { type: 'string' },
      preprocessing: { type: 'string' },
      'image-size': { type: 'string' },
      samples: { type: 'string' },
      epochs: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      'cache-dir': { type: 'string' },
      sha256: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const int = (flag: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got '${text}'`);
    return n;
  };
  const backend = values.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`--backend: expected wasm or cpu, got '${backend}'`);
  const preprocessing = values.preprocessing ?? 'tf';
  if (!['tf', 'unit', 'caffe', 'torch', 'none'].includes(preprocessing)) {
    throw new Error(`--preprocessing: expected tf, unit, caffe, torch or none, got '${preprocessing}'`);
  }
  return {
    data: values.data,
    bases: values.base ?? ['mobilenet_v2'],
    baseSize: values['base-size'] === undefined ? undefined : int('--base-size', values['base-size'], 0),
    preprocessing: preprocessing as Options['preprocessing'],
    imageSize: int('--image-size', values['image-size'], 160),
    samples: values.samples === 'all' ? 'all' : int('--samples', values.samples, 500),
    epochs: int('--epochs', values.epochs, 10),
    backend,
    out: values.out ?? 'cats-vs-dogs-report',
    cacheDir: values['cache-dir'] ?? join(homedir(), '.cache', 'tl-kit-examples'),
    sha256: values.sha256,
    url: values.url ?? PETIMAGES_URL,
  };
}

/** Downloads and extracts PetImages once; returns the folder with `Cat/` and `Dog/`. */
async function petImages(cacheDir: string, sha256: string | undefined, url: string): Promise<string> {
  const zip = join(cacheDir, PETIMAGES_ZIP);
  let lastPercent = -1;
  const download = await downloadFile(url, zip, {
    expectedSize: PETIMAGES_BYTES,
    sha256,
    onResume: (offset) => console.log(`resuming the download at ${(offset / 1e6).toFixed(0)} MB`),
    onProgress: (received, total) => {
      const percent = Math.floor((received / (total ?? PETIMAGES_BYTES)) * 100);
      if (percent !== lastPercent && percent % 5 === 0) console.log(`downloading PetImages: ${percent}%`);
      lastPercent = percent;
    },
  });
  if (!download.cached) console.log(`archive SHA-256 ${download.sha256} (pass --sha256 to pin it)`);
  const extracted = await extractZip(zip, join(cacheDir, 'kagglecatsanddogs_5340'), {
    // Only the photos: the archive also holds Thumbs.db files and a licence text.
    filter: (name) => /^PetImages\/(Cat|Dog)\/[^/]+\.jpg$/i.test(name),
    onProgress: (written, entries) => {
      if (written % 5000 === 0) console.log(`extracting: ${written} of ${entries} entries`);
    },
  });
  return join(extracted.dest, 'PetImages');
}

/** The first `n` files of each class folder (sorted by name), as samples; every file when `n` is 'all'. */
async function listSamples(root: string, n: number | 'all'): Promise<Sample[]> {
  const classes = (await readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  const samples: Sample[] = [];
  for (const label of classes) {
    const files = (await readdir(join(root, label))).filter((f) => !f.startsWith('.')).sort(byNumber);
    for (const file of n === 'all' ? files : files.slice(0, n)) samples.push({ source: join(root, label, file), label });
  }
  return samples;
}

function byNumber(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

const KERAS_NAMES: readonly ApplicationName[] = ['VGG16', 'InceptionV3', 'ResNet50V2', 'ResNet101V2', 'MobileNetV2'];

/**
 * A base from the registry, a URL or path, nsfwjs's bundled networks (`nsfwjs:NAME`), or a Keras application with
 * Keras's ImageNet weights (`keras:NAME`), built without its classifier at the run's image size.
 */
async function loadAnyBase(source: string, o: Options): Promise<BaseSpec> {
  if (source.startsWith('nsfwjs:')) return loadNsfwBase(source.slice('nsfwjs:'.length) as NsfwBaseName);
  if (source.startsWith('keras:')) {
    const name = source.slice('keras:'.length) as ApplicationName;
    if (!KERAS_NAMES.includes(name)) throw new Error(`--base ${source}: expected keras:${KERAS_NAMES.join(' | keras:')}`);
    const inputShape = [o.imageSize, o.imageSize, 3] as const;
    const model = await applications[name]({ weights: 'imagenet', includeTop: false, inputShape });
    return { kind: 'tl-kit-base', name: source, model, inputShape, preprocessing: applications[name].preprocessing };
  }
  const known = KNOWN_BASES.some((b) => b.name === source);
  if (known) return loadBase(source, { onProgress: (p) => p.done === p.total && console.log(`  ${source}: downloaded`) });
  return loadBase(source, {
    preprocessing: o.preprocessing,
    ...(o.baseSize === undefined ? {} : { inputShape: [o.baseSize, o.baseSize, 3] as const }),
  });
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o === undefined) {
    console.log(HELP);
    return;
  }
  tf.env().set('PROD', true); // keeps tfjs's "use tfjs-node" banner out of the output
  await tf.setBackend(o.backend);
  await tf.ready();
  console.log(`backend ${tf.getBackend()}`);

  let root: string;
  try {
    root = o.data === undefined ? await petImages(resolve(o.cacheDir), o.sha256, o.url) : resolve(o.data);
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    // An expected failure: its cause and the ways around it, without a stack trace.
    console.error(downloadHelp(error, resolve(o.cacheDir)));
    process.exitCode = 1;
    return;
  }
  const samples = await listSamples(root, o.samples);
  console.log(`${samples.length} images under ${root}`);

  const bases: { name: string; spec: BaseSpec }[] = [];
  for (const source of o.bases) bases.push({ name: source, spec: await loadAnyBase(source, o) });

  // Layers bases are rebuilt for --image-size; a graph model keeps the input size it declares. Each distinct
  // (size, preprocessing) pair gets its own loader: same files and seed, hence the same splits.
  const groups = new Map<string, { size: number; spec: BaseSpec; members: typeof bases }>();
  for (const entry of bases) {
    const isGraph = !('layers' in entry.spec.model);
    const size = isGraph ? entry.spec.inputShape[0] : o.imageSize;
    const key = `${size}/${String(entry.spec.preprocessing)}`;
    const group = groups.get(key) ?? { size, spec: entry.spec, members: [] };
    group.members.push(entry);
    groups.set(key, group);
  }

  let shown: Awaited<ReturnType<DataLoader['getRandomRawImages']>> = [];
  const loaders: DataLoader[] = [];
  try {
    // One loader per (size, preprocessing); every entry of compareBases brings the loader that suits its base.
    const entries: BaseEntry[] = [];
    for (const { size, spec, members } of groups.values()) {
      const data = await DataLoader.fromSamples(samples, {
        imageSize: size,
        batchSize: 32,
        splitWeights: [8, 1, 1],
        seed: 42,
        preprocessing: spec.preprocessing,
        onProgress: (p) => p.done === p.total && console.log(`checked ${p.total} images (${p.phase})`),
      });
      loaders.push(data);
      if (data.skipped.length > 0) console.log(`skipped ${data.skipped.length} unusable files, e.g. ${data.skipped[0]?.path}`);
      if (shown.length === 0) shown = await data.getRandomRawImages(20);
      entries.push(...members.map((m) => ({ name: `${m.name} (${size}px)`, base: m.spec, data })));
    }
    const comparison: BaseComparison[] = await compareBases(entries, loaders[0] as DataLoader, {
      epochs: o.epochs,
      callbacks: [progressBar()],
      onBaseBegin: (_, name) => console.log(`\n${name}`),
    });
    console.log('');
    for (const row of comparison) {
      console.log(
        `${row.name}: accuracy before ${row.baseline.accuracy.toFixed(3)}, after ${row.evaluation.accuracy.toFixed(3)}, ` +
          `fit ${row.trainSeconds.toFixed(1)} s`,
      );
    }
    const best = comparison.reduce((a, b) => (b.evaluation.accuracy > a.evaluation.accuracy ? b : a));
    const files = await writeReport(resolve(o.out), {
      title: 'Cats vs dogs: transfer learning with tl-kit',
      comparison,
      evaluation: best.evaluation,
      samples: shown.map((s) => ({ image: s.image, labelName: s.labelName, id: s.id })),
    });
    console.log(`\nreport: ${files.html}`);
  } finally {
    shown.forEach((s) => s.image.dispose());
    loaders.forEach((data) => data.dispose());
    for (const { spec } of bases) if ('dispose' in spec.model) spec.model.dispose();
  }
}

/** What to do when PetImages cannot be downloaded: the cause is in the message, the ways around it here. */
function downloadHelp(error: DownloadError, cacheDir: string): string {
  const lines = [`cats-vs-dogs: cannot download PetImages: ${error.message}`];
  if (error.unreachable) {
    lines.push(
      'This machine cannot reach the download server. Without network access, either:',
      '  - use images you already have: npm start -- --data DIR   (DIR holds one sub-folder per class, e.g. Cat/ and Dog/)',
      `  - or copy ${PETIMAGES_ZIP} (from ${PETIMAGES_URL}) into ${cacheDir} and run again.`,
    );
  } else {
    lines.push('Run again to resume the download, or pass --data DIR to use a folder of images you already have.');
  }
  return lines.join('\n');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
