/** `tl-kit train <dir>`: baseline, fit, evaluate, before / after table, saved classifier and HTML report. */
import { join, resolve } from 'node:path';
import {
  Wrapper,
  evaluate,
  evaluateBaseline,
  fit,
  saveClassifier,
  writeReport,
  type BaseComparison,
  type RawImage,
} from '../index';
import { loadCliBase, type LoadedBase } from './bases';
import { loadFolder } from './data';
import type { Io } from './io';
import type { TrainFlags } from './flags';
import { comparisonTable, evaluationTable, fixed } from './format';
import { checkReportPackages, startRuntime } from './runtime';

/** Runs `tl-kit train`; returns the exit code. */
export async function train(io: Io, flags: TrainFlags): Promise<number> {
  const { dir, base: baseName } = flags;
  const out = resolve(flags.out);
  if (flags.report) await checkReportPackages('tl-kit train');
  const backend = await startRuntime(flags.runtime);
  io.stderr.write(`tl-kit train: backend ${backend}; loading base ${baseName}\n`);
  const base: LoadedBase = await loadCliBase(baseName, flags.imageSize);
  let samples: RawImage[] = [];
  try {
    // A graph or ONNX base has a fixed input size; a layers base is rebuilt for --image-size.
    const side = base.isGraph ? base.spec.inputShape[0] : (flags.imageSize ?? base.spec.inputShape[0]);
    const data = await loadFolder(io, flags, side, flags.preprocessing ?? base.spec.preprocessing);
    const model = Wrapper(base.spec, {
      numClasses: data.labelNames.length,
      ...(base.isGraph ? {} : { inputShape: [side, side, 3] as const }),
      seed: flags.seed,
      engine: flags.runtime.engine,
    });
    try {
      const started = performance.now();
      const baseline = await evaluateBaseline(model, data);
      io.stderr.write(`before training: validation accuracy ${fixed(baseline.accuracy)}, loss ${fixed(baseline.loss)}\n`);
      const fitStarted = performance.now();
      const history = await fit(model, data, {
        epochs: flags.epochs,
        seed: flags.seed,
        ...(flags.learningRate === undefined ? {} : { learningRate: flags.learningRate }),
        verbose: 1,
        progressStream: io.stderr,
      });
      const trainSeconds = (performance.now() - fitStarted) / 1000;
      const evaluation = await evaluate(model, data);
      const row: BaseComparison = {
        name: baseName,
        baseline,
        history,
        evaluation,
        trainSeconds,
        totalSeconds: (performance.now() - started) / 1000,
        runtime: evaluation.runtime,
      };

      io.stdout.write(`${comparisonTable([row])}\n\n`);
      io.stdout.write(`test split, ${evaluation.exampleCount} images:\n${evaluationTable(evaluation)}\n\n`);
      const classifierDir = join(out, 'classifier');
      await saveClassifier(model, data, classifierDir, { metrics: evaluation, baseName });
      io.stdout.write(`classifier: ${classifierDir}\n`);
      if (flags.report) {
        samples = await data.getRandomRawImages(20);
        const report = await writeReport(
          out,
          { title: `tl-kit train: ${dir} on ${baseName}`, comparison: [row], evaluation, samples },
          { seed: flags.seed },
        );
        io.stdout.write(`report: ${report.html}\n`);
      }
      io.stdout.write(`label new images with: tl-kit predict ${classifierDir} <images or folders>\n`);
    } finally {
      model.dispose();
      data.dispose();
    }
  } finally {
    samples.forEach((s) => s.image.dispose());
    base.dispose();
  }
  return 0;
}
