/**
 * Command-line options of `npm run demo`, parsed and checked before anything heavy is loaded.
 */
import { parseArgs } from 'node:util';
import { FASHION_MNIST_LABELS, parseClasses } from './fashion-mnist';

/** The bases the demo can compare, by CLI name. */
export const DEMO_BASES = ['mobilenet_v2', 'inception_v3', 'mobilenet_v2_graph', 'random_mobilenet_v2'] as const;
/** One base name. */
export type DemoBaseName = (typeof DEMO_BASES)[number];

/** Everything the demo run needs, defaults resolved. */
export interface DemoOptions {
  /** tfjs backend. */
  readonly backend: 'cpu' | 'wasm';
  /** Training epochs per base. */
  readonly epochs: number;
  /** Fashion-MNIST class ids. */
  readonly classes: readonly number[];
  /** Images per class. */
  readonly samples: number;
  /** Side in pixels the 28x28 images are upsampled to. */
  readonly imageSize: number;
  /** Bases to compare, in order. */
  readonly bases: readonly DemoBaseName[];
  /** Report folder. */
  readonly out: string;
  /** Seed of the split, shuffles and head initialisation. */
  readonly seed: number;
  /** Batch size. */
  readonly batchSize: number;
  /** Where the PNG folders are cached. */
  readonly cacheDir: string;
}

/** Default options: the figures in docs/demo.md come from these. */
export const DEMO_DEFAULTS: DemoOptions = {
  backend: 'wasm',
  epochs: 10,
  classes: [0, 6],
  samples: 300,
  imageSize: 96,
  bases: DEMO_BASES,
  out: 'demo-output',
  seed: 42,
  batchSize: 32,
  cacheDir: '.cache',
};

/** The `--help` text. */
export function demoHelp(): string {
  const d = DEMO_DEFAULTS;
  return `Usage: npm run demo -- [options]

The Keras transfer-learning tutorial's flow, offline, on Fashion-MNIST written as PNG folders:
load (split 8:1:1), show samples, wrap pretrained bases, evaluate before training, fit, evaluate, compare,
and write an HTML report.

Options:
  --backend cpu|wasm     tfjs backend (default ${d.backend})
  --epochs N             training epochs per base (default ${d.epochs})
  --classes LIST         'all' or a comma list of ids 0..9 or names (default ${d.classes.join(',')}: T-shirt/top vs Shirt)
  --samples N            images per class (default ${d.samples})
  --image-size N         side the 28x28 images are upsampled to, >= 75 for InceptionV3 (default ${d.imageSize})
  --bases LIST           comma list of ${DEMO_BASES.join(', ')} (default: all)
  --out DIR              report folder (default ${d.out})
  --seed N               seed of split, shuffles and head (default ${d.seed})
  --batch-size N         batch size (default ${d.batchSize})
  --cache-dir DIR        where the PNG folders are written once (default ${d.cacheDir})
  -h, --help             show this text

Classes: ${FASHION_MNIST_LABELS.map((l, i) => `${i} ${l}`).join(', ')}.
Examples:
  npm run demo
  npm run demo -- --classes all --samples 300 --epochs 5
  npm run demo -- --classes Pullover,Coat --bases mobilenet_v2,random_mobilenet_v2 --backend cpu`;
}

/** A command line the demo cannot run: the message names the flag, the expectation and the value. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Result of parsing: options, or a request for help. */
export type ParsedDemoArgs = { readonly help: true } | { readonly help: false; readonly options: DemoOptions };

/**
 * Parses the demo's command line (`process.argv.slice(2)`).
 *
 * @throws {UsageError} naming the flag, the expectation and the value received
 */
export function parseDemoArgs(argv: readonly string[]): ParsedDemoArgs {
  try {
    return parse(argv);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

function parse(argv: readonly string[]): ParsedDemoArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      backend: { type: 'string' },
      epochs: { type: 'string' },
      classes: { type: 'string' },
      samples: { type: 'string' },
      'image-size': { type: 'string' },
      bases: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      'batch-size': { type: 'string' },
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  const d = DEMO_DEFAULTS;
  const backend = values.backend ?? d.backend;
  if (backend !== 'cpu' && backend !== 'wasm') throw new UsageError(`--backend: expected cpu or wasm, got '${backend}'`);
  const imageSize = integer('--image-size', values['image-size'], d.imageSize, 32, 512);
  const bases = values.bases === undefined ? d.bases : parseBases(values.bases);
  if (bases.includes('inception_v3') && imageSize < 75) {
    throw new UsageError(`--image-size: InceptionV3 needs at least 75 pixels, got ${imageSize}`);
  }
  return {
    help: false,
    options: {
      backend,
      epochs: integer('--epochs', values.epochs, d.epochs, 1, 1000),
      classes: values.classes === undefined ? d.classes : parseClasses(values.classes),
      samples: integer('--samples', values.samples, d.samples, 10, 6900),
      imageSize,
      bases,
      out: values.out ?? d.out,
      seed: integer('--seed', values.seed, d.seed, 0, 2 ** 31 - 1),
      batchSize: integer('--batch-size', values['batch-size'], d.batchSize, 1, 1024),
      cacheDir: values['cache-dir'] ?? d.cacheDir,
    },
  };
}

function parseBases(spec: string): DemoBaseName[] {
  const names = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const name of names) {
    if (!(DEMO_BASES as readonly string[]).includes(name)) {
      throw new UsageError(`--bases: unknown base '${name}'; choose from ${DEMO_BASES.join(', ')}`);
    }
  }
  if (names.length === 0) throw new UsageError(`--bases: expected at least one base, got '${spec}'`);
  return [...new Set(names)] as DemoBaseName[];
}

function integer(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag}: expected an integer ${min}..${max}, got '${text}'`);
  }
  return value;
}
