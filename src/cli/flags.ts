/**
 * The flags of each command read into plain settings, with every check that needs no model or file, so that wrong
 * usage is reported (exit code 2) before tfjs is even loaded. This module imports no tfjs code.
 */
import type { ApplicationName, EngineChoice, PreprocessingMode } from '../index';
import type { NsfwBaseName } from '../nsfwjs/index';
import { existsSync } from 'node:fs';
import { closestNames } from '../internal/suggest';
import { MAX_IMAGE_SIDE } from '../internal/validate';
import { KNOWN_BASES } from '../models/registry';
import {
  checkPositionals,
  choiceValue,
  COMPARE,
  integerValue,
  listValue,
  positiveNumberValue,
  PREDICT,
  splitValue,
  stringValue,
  TRAIN,
  UsageError,
  type ParsedArgs,
} from './usage';

/** The backends `--backend` accepts, fastest first (the order the default tries them in). */
export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;

/** A backend name `--backend` accepts. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * The runtime flags (RUNTIME_OPTIONS in usage.ts), resolved: what every command needs to start models. A new runtime
 * flag adds a field here and its reading in {@link runtimeFlags}.
 */
export interface RuntimeFlags {
  /** The backend asked for, or `'auto'` for the fastest installed. */
  readonly backend: BackendName | 'auto';
  /** The engine of the frozen base (the library's `engine` option). */
  readonly engine: EngineChoice;
}

const ENGINES: readonly EngineChoice[] = ['auto', 'tfjs', 'onnxruntime'];

/** Reads the runtime flags. */
function runtimeFlags(command: string, parsed: ParsedArgs): RuntimeFlags {
  return {
    backend: choiceValue(command, parsed, 'backend', BACKEND_NAMES) ?? 'auto',
    engine: choiceValue(command, parsed, 'engine', ENGINES) ?? 'auto',
  };
}

// Typed against the library's name unions, so a renamed or added base shows up here at compile time.
const KERAS: Readonly<Record<ApplicationName, true>> = { VGG16: true, InceptionV3: true, ResNet50V2: true, ResNet101V2: true, MobileNetV2: true };
const NSFW: Readonly<Record<NsfwBaseName, true>> = { mobilenet_v2: true, inception_v3: true, mobilenet_v2_mid: true };

/** The offline nsfwjs base a `--base` value names, if any (`mobilenet_v2` or `nsfwjs:mobilenet_v2`). */
export function nsfwName(text: string): NsfwBaseName | undefined {
  const name = text.startsWith('nsfwjs:') ? text.slice('nsfwjs:'.length) : text;
  return Object.prototype.hasOwnProperty.call(NSFW, name) ? (name as NsfwBaseName) : undefined;
}

/** The Keras application a `keras:NAME` value names, if it is one. */
export function kerasName(text: string): ApplicationName | undefined {
  return text.startsWith('keras:') ? (text.slice('keras:'.length) as ApplicationName) : undefined;
}

/**
 * `--image-size`: the CNN bases' smallest input is 32 px (five stride-2 stages; Keras refuses smaller too), the
 * largest tl-kit's bound on an image side.
 */
function imageSizeValue(command: string, parsed: ParsedArgs): number | undefined {
  const size = integerValue(command, parsed, 'image-size', 1);
  if (size !== undefined && (size < 32 || size > MAX_IMAGE_SIDE)) {
    throw new UsageError(command, `--image-size must be an integer from 32 to ${MAX_IMAGE_SIDE}, got '${size}'`);
  }
  return size;
}

/** Checks a base value's spelling where it has one (`keras:`, `nsfwjs:`); paths and URLs are checked when loaded. */
function checkBase(command: string, text: string): string {
  const keras = kerasName(text);
  if (keras !== undefined && !Object.prototype.hasOwnProperty.call(KERAS, keras)) {
    const names = Object.keys(KERAS);
    const close = closestNames(keras, names, 1)[0];
    throw new UsageError(
      command,
      `unknown Keras application '${keras}' in '${text}': use keras:${names.join(', keras:')}` +
        (close === undefined ? '' : ` (did you mean keras:${close}?)`),
    );
  }
  if (text.startsWith('nsfwjs:') && nsfwName(text) === undefined) {
    throw new UsageError(command, `unknown nsfwjs base '${text}': use ${Object.keys(NSFW).join(', ')}`);
  }
  // A bare name (no path separator, extension or scheme, and no such file or folder) must be an offline or a
  // registry base: say so now, before anything loads, rather than as a file-not-found later.
  const bare = keras === undefined && !/[/\\.:]/.test(text) && !existsSync(text);
  if (bare && nsfwName(text) === undefined && !KNOWN_BASES.some((b) => b.name === text)) {
    const offline = Object.keys(NSFW);
    const close = closestNames(text, [...offline, ...KNOWN_BASES.map((b) => b.name)], 1)[0];
    throw new UsageError(
      command,
      `unknown base '${text}': use ${offline.join(', ')} (offline), keras:NAME, a registry name, or a path or URL` +
        (close === undefined ? '' : ` (did you mean ${close}?)`),
    );
  }
  return text;
}

const PREPROCESSING = ['tf', 'caffe', 'torch', 'unit', 'none'] as const;

/** The data and training flags of `train` and `compare`. */
export interface DataFlags {
  readonly dir: string;
  readonly imageSize: number | undefined;
  readonly batchSize: number;
  readonly splitWeights: [number, number, number];
  readonly seed: number;
  readonly preprocessing: PreprocessingMode | undefined;
  readonly epochs: number;
  readonly learningRate: number | undefined;
  readonly out: string;
  /** Write the HTML report (`--no-report` turns it off). */
  readonly report: boolean;
  readonly runtime: RuntimeFlags;
}

function dataFlags(command: string, parsed: ParsedArgs): DataFlags {
  return {
    dir: parsed.positionals[0] as string,
    imageSize: imageSizeValue(command, parsed),
    batchSize: integerValue(command, parsed, 'batch-size', 1, 32),
    splitWeights: splitValue(command, parsed),
    seed: integerValue(command, parsed, 'seed', 0, 42),
    preprocessing: choiceValue(command, parsed, 'preprocessing', PREPROCESSING),
    epochs: integerValue(command, parsed, 'epochs', 1, 10),
    learningRate: positiveNumberValue(command, parsed, 'learning-rate'),
    out: stringValue(parsed, 'out') ?? 'tl-kit-out',
    report: parsed.values['no-report'] !== true,
    runtime: runtimeFlags(command, parsed),
  };
}

/** Settings of `tl-kit train`. */
export interface TrainFlags extends DataFlags {
  readonly base: string;
}

/** Reads `tl-kit train`'s arguments. */
export function trainFlags(parsed: ParsedArgs): TrainFlags {
  checkPositionals(TRAIN, parsed.positionals);
  return { ...dataFlags(TRAIN.name, parsed), base: checkBase(TRAIN.name, stringValue(parsed, 'base') ?? 'mobilenet_v2') };
}

/** Settings of `tl-kit compare`. */
export interface CompareFlags extends DataFlags {
  readonly bases: readonly string[];
}

/** Reads `tl-kit compare`'s arguments. */
export function compareFlags(parsed: ParsedArgs): CompareFlags {
  checkPositionals(COMPARE, parsed.positionals);
  const bases = listValue(COMPARE.name, parsed, 'bases');
  if (bases === undefined) throw new UsageError(COMPARE.name, 'missing --bases, e.g. --bases mobilenet_v2,inception_v3');
  if (new Set(bases).size !== bases.length) throw new UsageError(COMPARE.name, `--bases lists a base twice: '${bases.join(',')}'`);
  return { ...dataFlags(COMPARE.name, parsed), bases: bases.map((b) => checkBase(COMPARE.name, b)) };
}

/** Settings of `tl-kit predict`. */
export interface PredictFlags {
  readonly classifier: string;
  readonly paths: readonly string[];
  readonly json: boolean;
  readonly runtime: RuntimeFlags;
}

/** Reads `tl-kit predict`'s arguments. */
export function predictFlags(parsed: ParsedArgs): PredictFlags {
  checkPositionals(PREDICT, parsed.positionals);
  const [classifier, ...paths] = parsed.positionals as [string, ...string[]];
  return { classifier, paths, json: parsed.values.json === true, runtime: runtimeFlags(PREDICT.name, parsed) };
}
