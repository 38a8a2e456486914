/** Loading the folder of class folders of `train` and `compare`. */
import { DataLoader, type PreprocessingMode } from '../index';
import type { DataFlags } from './flags';
import type { Io } from './io';

const SHOWN_SKIPPED = 10;

/** Loads `dir` at `imageSize` with `preprocessing`, and tells stderr what it found (classes, splits, skipped files). */
export async function loadFolder(
  io: Io,
  flags: DataFlags,
  imageSize: number,
  preprocessing: PreprocessingMode,
  quiet = false,
): Promise<DataLoader> {
  const data = await DataLoader.fromDirectory(flags.dir, {
    imageSize,
    batchSize: flags.batchSize,
    splitWeights: flags.splitWeights,
    seed: flags.seed,
    preprocessing,
  });
  if (quiet) return data;
  const n = data.numExamples;
  io.stderr.write(
    `data: ${data.labelNames.length} classes (${data.labelNames.join(', ')}); ` +
      `train ${n.train}, validation ${n.validation}, test ${n.test}; ${imageSize} px, preprocessing ${String(preprocessing)}\n`,
  );
  const skipped = data.skipped;
  if (skipped.length > 0) {
    io.stderr.write(`skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} that could not be used:\n`);
    for (const s of skipped.slice(0, SHOWN_SKIPPED)) io.stderr.write(`  ${s.path}: ${s.reason}\n`);
    if (skipped.length > SHOWN_SKIPPED) io.stderr.write(`  ... and ${skipped.length - SHOWN_SKIPPED} more\n`);
  }
  return data;
}
