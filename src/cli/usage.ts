/**
 * The command-line tool's option tables, its help text and argument parsing (Node's `util.parseArgs`). Every flag is
 * declared once here; the commands read the parsed values with the typed readers at the bottom, which turn a bad
 * value into a {@link UsageError} (exit code 2).
 */
import { parseArgs } from 'node:util';
import { closestNames } from '../internal/suggest';

/** A command-line mistake: the tool prints it with a pointer to `--help` and exits with code 2. */
export class UsageError extends Error {
  /** The command whose usage was wrong, or undefined for the tool itself. */
  readonly command: string | undefined;

  constructor(command: string | undefined, message: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** One flag. */
export interface OptionSpec {
  /** Long name without the dashes, e.g. `image-size`. */
  readonly flag: string;
  /** One-letter alias. */
  readonly short?: string;
  /** A boolean switch, or a flag that takes a value. */
  readonly kind: 'string' | 'boolean';
  /** Placeholder of the value in the help, e.g. `N`. */
  readonly value?: string;
  /** One line of help. */
  readonly help: string;
  /** The default as the help shows it. */
  readonly defaultText?: string;
}

/** A command: its usage line, what it does, its flags. */
export interface CommandSpec {
  /** The sub-command, e.g. `train`. */
  readonly name: string;
  /** Positional arguments as the usage line shows them. */
  readonly args: string;
  /** Required flags the usage line shows after the arguments. */
  readonly required?: string;
  /** Smallest and largest number of positional arguments. */
  readonly positionals: readonly [number, number];
  /** One line for the tool's command list. */
  readonly summary: string;
  /** A paragraph for the command's help. */
  readonly description: string;
  /** Its flags, in help order. */
  readonly options: readonly OptionSpec[];
  /** Example invocations. */
  readonly examples: readonly string[];
}

const help: OptionSpec = { flag: 'help', short: 'h', kind: 'boolean', help: 'show this help' };
const verbose: OptionSpec = { flag: 'verbose', kind: 'boolean', help: 'on an error, print its stack trace and causes' };

/**
 * How models run, shared by every command: one table, read in one place (`resolveRuntime` in runtime.ts). A new
 * runtime flag (an inference engine, say) is one entry here plus one field there.
 */
export const RUNTIME_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'backend',
    kind: 'string',
    value: 'NAME',
    help: 'tfjs backend: cpu, wasm, or tensorflow (@tensorflow/tfjs-node); each needs its package installed',
    defaultText: 'the fastest installed: tensorflow, wasm, cpu',
  },
  {
    flag: 'engine',
    kind: 'string',
    value: 'NAME',
    help: 'what runs the frozen base: onnxruntime (needs onnxruntime-node), tfjs, or auto (onnxruntime when installed and the base converts, else tfjs)',
    defaultText: 'auto',
  },
];

const BASE_HELP =
  'mobilenet_v2, inception_v3 or mobilenet_v2_mid (offline, needs the nsfwjs package); keras:VGG16, ' +
  'keras:InceptionV3, keras:ResNet50V2, keras:ResNet101V2 or keras:MobileNetV2 (ImageNet weights, downloaded once); ' +
  'a loadBase registry name; a path or URL of a model.json; or an .onnx file (runs on onnxruntime-node)';

/** Flags of the commands that load a folder of class folders. */
const DATA_OPTIONS: readonly OptionSpec[] = [
  { flag: 'image-size', kind: 'string', value: 'N', help: 'side of the square input images in pixels (32 to 8192)', defaultText: "the base's input size" },
  { flag: 'batch-size', kind: 'string', value: 'N', help: 'images per batch', defaultText: '32' },
  { flag: 'split', kind: 'string', value: 'TRAIN,VAL,TEST', help: 'relative sizes of the train, validation and test splits', defaultText: '8,1,1' },
  { flag: 'seed', kind: 'string', value: 'N', help: 'seed of the split, the shuffles and the head initialisation', defaultText: '42' },
  {
    flag: 'preprocessing',
    kind: 'string',
    value: 'MODE',
    help: 'pixel scaling: tf ([-1, 1]), caffe, torch, unit ([0, 1]) or none',
    defaultText: "the base's",
  },
  { flag: 'epochs', kind: 'string', value: 'N', help: 'passes over the training split', defaultText: '10' },
  { flag: 'learning-rate', kind: 'string', value: 'R', help: "Adam's learning rate", defaultText: '0.001' },
];

const out: OptionSpec = { flag: 'out', short: 'o', kind: 'string', value: 'OUT', help: 'output folder', defaultText: 'tl-kit-out' };
const noReport: OptionSpec = {
  flag: 'no-report',
  kind: 'boolean',
  help: 'skip the HTML report (its charts need the optional packages vega and vega-lite, checked before training)',
};

/** `tl-kit train`. */
export const TRAIN: CommandSpec = {
  name: 'train',
  args: '<dir>',
  positionals: [1, 1],
  summary: 'train a classifier on a folder of class folders, evaluate it, save it with a report',
  description:
    'Loads <dir> (one sub-folder of images per class), splits it, wraps the frozen base under a new head, measures ' +
    'the validation accuracy before training, trains the head, evaluates on the test split and prints the before / ' +
    'after table. Writes the classifier to OUT/classifier (for `tl-kit predict`) and an HTML report to ' +
    'OUT/report.html. Files that cannot be decoded are skipped and listed.',
  options: [
    { flag: 'base', short: 'b', kind: 'string', value: 'BASE', help: BASE_HELP, defaultText: 'mobilenet_v2' },
    ...DATA_OPTIONS,
    out,
    noReport,
    ...RUNTIME_OPTIONS,
    verbose,
    help,
  ],
  examples: [
    'tl-kit train photos',
    'tl-kit train photos --base keras:VGG16 --image-size 160 --epochs 5 --out runs/vgg16',
    'tl-kit train photos --base ./my-base/model.json --preprocessing unit --backend cpu',
  ],
};

/** `tl-kit predict`. */
export const PREDICT: CommandSpec = {
  name: 'predict',
  args: '<classifier> <image|folder>...',
  positionals: [2, Number.POSITIVE_INFINITY],
  summary: 'label images with a classifier saved by `tl-kit train`',
  description:
    'Loads the classifier (a folder with model.json, or the --out folder of `tl-kit train`) and prints, for every ' +
    'image given or found in the folders given (recursively), a line "file<TAB>label<TAB>probability" with the most ' +
    'probable class, or one JSON array with every class\'s probability with --json. A file that cannot be read or ' +
    'decoded is reported and the others go on; the exit code is then 1.',
  options: [{ flag: 'json', kind: 'boolean', help: 'print JSON: [{ file, label, probability, predictions }]' }, ...RUNTIME_OPTIONS, verbose, help],
  examples: ['tl-kit predict tl-kit-out photos/new', 'tl-kit predict tl-kit-out/classifier a.jpg b.png --json'],
};

/** `tl-kit compare`. */
export const COMPARE: CommandSpec = {
  name: 'compare',
  args: '<dir>',
  required: '--bases A,B,...',
  positionals: [1, 1],
  summary: 'train a head on each of several bases and compare them on the same splits',
  description:
    'For each base of --bases: wraps it under a new head, measures the validation accuracy before training, trains, ' +
    'and evaluates on the test split, all on the same split of <dir>. Prints the comparison table and writes an HTML ' +
    'report (histories, comparison chart, the best base\'s confusion matrix) to OUT/report.html.',
  options: [
    { flag: 'bases', kind: 'string', value: 'A,B,...', help: `comma-separated bases, each one of: ${BASE_HELP}` },
    ...DATA_OPTIONS,
    out,
    noReport,
    ...RUNTIME_OPTIONS,
    verbose,
    help,
  ],
  examples: ['tl-kit compare photos --bases mobilenet_v2,inception_v3 --image-size 128 --epochs 5'],
};

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [TRAIN, PREDICT, COMPARE];

/** Flags of the tool itself (before a command). */
export const TOOL_OPTIONS: readonly OptionSpec[] = [
  { flag: 'help', short: 'h', kind: 'boolean', help: 'show this help' },
  { flag: 'version', short: 'v', kind: 'boolean', help: "print tl-kit's version" },
];

const WIDTH = 100;

/** Wraps `text` to lines of at most `width` characters, each after `indent` spaces but the first. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const left = options.map((o) => `${o.short ? `-${o.short}, ` : '    '}--${o.flag}${o.value ? ` ${o.value}` : ''}`);
  const column = Math.max(...left.map((l) => l.length)) + 4;
  return options.map((o, i) => {
    const text = o.defaultText === undefined ? o.help : `${o.help} (default: ${o.defaultText})`;
    return `  ${(left[i] as string).padEnd(column - 2)}${wrap(text, WIDTH - column, column)}`;
  });
}

/** The help of one command. */
export function commandHelp(spec: CommandSpec): string {
  return [
    `Usage: tl-kit ${spec.name} ${spec.args}${spec.required === undefined ? '' : ` ${spec.required}`} [options]`,
    '',
    wrap(spec.description, WIDTH, 0),
    '',
    'Options:',
    ...optionLines(spec.options),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** The help of the tool. */
export function toolHelp(): string {
  const left = COMMANDS.map((c) => `${c.name} ${c.args}${c.required === undefined ? '' : ` ${c.required}`}`);
  const column = Math.max(...left.map((l) => l.length)) + 4;
  return [
    'Usage: tl-kit <command> [options]',
    '',
    'Transfer learning on TensorFlow.js from the command line: train an image classifier on a folder of class',
    'folders, compare pretrained bases, label new images.',
    '',
    'Commands:',
    ...COMMANDS.map((c, i) => `  ${(left[i] as string).padEnd(column - 2)}${wrap(c.summary, WIDTH - column, column)}`),
    '',
    'Options:',
    ...optionLines(TOOL_OPTIONS),
    '',
    'Run `tl-kit <command> --help` for the options of a command.',
    'Exit codes: 0 success, 1 failure, 2 wrong usage.',
    '',
  ].join('\n');
}

/** Parsed flags by long name, and the positional arguments. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

interface ParseArgsError {
  readonly code?: string;
  readonly message: string;
}

/** Parses `argv` against `options`; a mistake becomes a {@link UsageError} that names the closest known flag. */
export function parseFlags(command: string | undefined, options: readonly OptionSpec[], argv: readonly string[]): ParsedArgs {
  const config = Object.fromEntries(
    options.map((o) => [o.flag, { type: o.kind, ...(o.short === undefined ? {} : { short: o.short }) }]),
  );
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    const e = err as ParseArgsError;
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /'([^']+)'/.exec(e.message)?.[1] ?? '';
      const close = closestNames(given.replace(/^-+/, '').split('=')[0] ?? '', options.map((o) => o.flag), 1)[0];
      throw new UsageError(command, `unknown option '${given}'${close === undefined ? '' : ` (did you mean --${close}?)`}`);
    }
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(command, e.message);
    throw err;
  }
}

/** Checks the number of positional arguments. */
export function checkPositionals(spec: CommandSpec, positionals: readonly string[]): void {
  const [min, max] = spec.positionals;
  if (positionals.length < min) throw new UsageError(spec.name, `missing ${spec.args} (usage: tl-kit ${spec.name} ${spec.args} [options])`);
  if (positionals.length > max) {
    throw new UsageError(spec.name, `unexpected argument '${positionals[max] as string}' (usage: tl-kit ${spec.name} ${spec.args} [options])`);
  }
}

/** A string flag's value, or undefined when absent. */
export function stringValue(parsed: ParsedArgs, flag: string): string | undefined {
  const v = parsed.values[flag];
  return typeof v === 'string' ? v : undefined;
}

/** An integer flag's value (`min` or more), or `fallback` when absent. */
export function integerValue(command: string, parsed: ParsedArgs, flag: string, min: number, fallback: number): number;
export function integerValue(command: string, parsed: ParsedArgs, flag: string, min: number, fallback?: number): number | undefined;
export function integerValue(command: string, parsed: ParsedArgs, flag: string, min: number, fallback?: number): number | undefined {
  const raw = stringValue(parsed, flag);
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(command, `--${flag} must be an integer >= ${min}, got '${raw}'`);
  return n;
}

/** A positive number flag's value, or undefined when absent. */
export function positiveNumberValue(command: string, parsed: ParsedArgs, flag: string): number | undefined {
  const raw = stringValue(parsed, flag);
  if (raw === undefined) return undefined;
  const n = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(command, `--${flag} must be a positive number, got '${raw}'`);
  return n;
}

/** The `--split` value: three positive numbers. */
export function splitValue(command: string, parsed: ParsedArgs): [number, number, number] {
  const raw = stringValue(parsed, 'split') ?? '8,1,1';
  const parts = raw.split(',').map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
  if (parts.length !== 3 || !parts.every((p) => Number.isFinite(p) && p > 0)) {
    throw new UsageError(command, `--split must be three positive numbers train,validation,test (e.g. 8,1,1), got '${raw}'`);
  }
  return parts as [number, number, number];
}

/** A flag's value, checked against a closed list, or undefined when absent. */
export function choiceValue<T extends string>(command: string, parsed: ParsedArgs, flag: string, choices: readonly T[]): T | undefined {
  const raw = stringValue(parsed, flag);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(command, `--${flag} must be one of ${choices.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

/** A comma-separated list flag's items (non-empty, trimmed), or undefined when absent. */
export function listValue(command: string, parsed: ParsedArgs, flag: string): string[] | undefined {
  const raw = stringValue(parsed, flag);
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s.length === 0)) throw new UsageError(command, `--${flag} must be a comma-separated list without empty items, got '${raw}'`);
  return items;
}
