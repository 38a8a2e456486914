/** `tl-kit compare <dir> --bases a,b,c`: every base trained and evaluated on the same splits, one table, one report. */
import { resolve } from 'node:path';
import { compareBases, writeReport, type BaseEntry, type DataLoader, type PreprocessingMode, type RawImage } from '../index';
import { loadCliBase, type LoadedBase } from './bases';
import { loadFolder } from './data';
import type { Io } from './io';
import type { CompareFlags } from './flags';
import { comparisonTable, evaluationTable } from './format';
import { checkReportPackages, startRuntime } from './runtime';

/** Runs `tl-kit compare`; returns the exit code. */
export async function compare(io: Io, flags: CompareFlags): Promise<number> {
  const { dir, bases: names } = flags;
  const out = resolve(flags.out);
  if (flags.report) await checkReportPackages('tl-kit compare');
  const backend = await startRuntime(flags.runtime);
  io.stderr.write(`tl-kit compare: backend ${backend}\n`);
  const bases: LoadedBase[] = [];
  // One loader per input size and preprocessing; the same folder, seed and weights give every loader the same splits.
  const loaders = new Map<string, DataLoader>();
  let samples: RawImage[] = [];
  try {
    const entries: BaseEntry[] = [];
    for (const name of names) {
      io.stderr.write(`loading base ${name}\n`);
      const base = await loadCliBase(name, flags.imageSize);
      bases.push(base);
      // A graph's input size is fixed; a layers base is rebuilt for --image-size.
      const side = base.isGraph ? base.spec.inputShape[0] : (flags.imageSize ?? base.spec.inputShape[0]);
      const preprocessing: PreprocessingMode = flags.preprocessing ?? base.spec.preprocessing;
      const key = `${side}/${String(preprocessing)}`;
      let data = loaders.get(key);
      if (data === undefined) {
        data = await loadFolder(io, flags, side, preprocessing, loaders.size > 0);
        loaders.set(key, data);
      }
      entries.push({ name, base: base.spec, data, wrapperOptions: { seed: flags.seed, engine: flags.runtime.engine } });
    }
    const shared = loaders.values().next().value as DataLoader;
    const rows = await compareBases(entries, shared, {
      epochs: flags.epochs,
      seed: flags.seed,
      ...(flags.learningRate === undefined ? {} : { learningRate: flags.learningRate }),
      verbose: 1,
      progressStream: io.stderr,
      onBaseBegin: (i, name) => io.stderr.write(`\n[${i + 1}/${entries.length}] ${name}\n`),
    });
    io.stdout.write(`\n${comparisonTable(rows)}\n\n`);
    const best = rows.reduce((a, b) => (b.evaluation.accuracy > a.evaluation.accuracy ? b : a));
    io.stdout.write(`best: ${best.name}; test split, ${best.evaluation.exampleCount} images:\n${evaluationTable(best.evaluation)}\n\n`);
    if (flags.report) {
      samples = await shared.getRandomRawImages(20);
      const report = await writeReport(
        out,
        { title: `tl-kit compare: ${dir}`, comparison: rows, evaluation: best.evaluation, samples },
        { seed: flags.seed },
      );
      io.stdout.write(`report: ${report.html}\n`);
    }
  } finally {
    samples.forEach((s) => s.image.dispose());
    for (const data of loaders.values()) data.dispose();
    for (const base of bases) base.dispose();
  }
  return 0;
}
