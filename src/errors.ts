/**
 * The error types tl-kit throws. Every error is a {@link TlKitError} with a stable `code`, so callers can branch on
 * `err.code` or on the subclass with `instanceof`.
 *
 * @module
 */

/**
 * Stable machine-readable codes carried by every {@link TlKitError}.
 *
 * - `INVALID_ARGUMENT`: an option or argument of a public call is out of range or of the wrong type.
 * - `DATASET`: the dataset as a whole cannot be used (missing folder, too few classes, an empty split).
 * - `DECODE`: one image could not be decoded (reported per file in a dataset, thrown for a single image).
 * - `INCOMPATIBLE_MODEL`: a model does not fit the call (wrong output size, unknown layer, unsupported layer).
 * - `LOAD`: a model, weights or a file could not be read, downloaded or parsed.
 * - `UNSAFE_MODEL`: a model file was refused for safety (paths escaping its folder, inconsistent manifest).
 * - `TRAINING`: training failed (NaN loss, a second concurrent fit).
 * - `UNSUPPORTED`: the running platform or backend cannot do what was asked.
 * - `DISPOSED`: an object (a DataLoader, a classifier, a Wrapper model) was used after its `dispose()`.
 * - `WORKER`: a worker thread that ran part of the work crashed or exited.
 *
 * @category errors
 */
export type TlKitErrorCode =
  | 'INVALID_ARGUMENT'
  | 'DATASET'
  | 'DECODE'
  | 'INCOMPATIBLE_MODEL'
  | 'LOAD'
  | 'UNSAFE_MODEL'
  | 'TRAINING'
  | 'UNSUPPORTED'
  | 'DISPOSED'
  | 'WORKER';

/**
 * Base class of every error tl-kit throws.
 *
 * @example
 * ```ts
 * import { TlKitError } from 'tl-kit';
 * try {
 *   await DataLoader.fromDirectory('missing-folder');
 * } catch (err) {
 *   if (err instanceof TlKitError && err.code === 'DATASET') console.error(err.message);
 * }
 * ```
 *
 * @category errors
 */
export class TlKitError extends Error {
  /** Stable code for programmatic handling. */
  readonly code: TlKitErrorCode;

  /**
   * @param code - the stable error code.
   * @param message - a message that names the call and says what was expected and what was received.
   * @param options - `cause`: the underlying error (from tfjs, sharp, the file system, fetch).
   */
  constructor(code: TlKitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TlKitError';
    this.code = code;
  }
}

/**
 * An option or argument of a public call is invalid. `call`, `option`, `expected` and `received` repeat what the
 * message says, for programs.
 *
 * @example
 * ```ts
 * try {
 *   await DataLoader.fromDirectory('data', { batchSize: 0 });
 * } catch (err) {
 *   if (err instanceof InvalidArgumentError) console.log(err.option); // 'batchSize'
 * }
 * ```
 *
 * @category errors
 */
export class InvalidArgumentError extends TlKitError {
  /** The public call that refused the argument, e.g. `DataLoader.fromDirectory`. */
  readonly call: string;
  /** The option or argument name, e.g. `splitWeights`. */
  readonly option: string;
  /** What was expected, in words. */
  readonly expected: string;
  /** A short rendering of the received value. */
  readonly received: string;

  /**
   * @param call - the public call, e.g. `Wrapper`.
   * @param option - the option or argument name.
   * @param expected - what was expected, in words (`a positive integer`).
   * @param received - the received value; it is rendered briefly in the message.
   */
  constructor(call: string, option: string, expected: string, received: unknown) {
    const shown = describeValue(received);
    super('INVALID_ARGUMENT', `${call}: ${option} must be ${expected}, got ${shown}`);
    this.name = 'InvalidArgumentError';
    this.call = call;
    this.option = option;
    this.expected = expected;
    this.received = shown;
  }
}

/**
 * The dataset cannot be used as a whole: the folder does not exist, fewer than two classes have usable images, or a
 * split would come out empty. Single bad files are not errors: they are listed in `DataLoader.skipped`.
 *
 * @example
 * ```ts
 * try { await DataLoader.fromDirectory('empty'); } catch (err) { if (err instanceof DatasetError) console.log(err.message); }
 * ```
 *
 * @category errors
 */
export class DatasetError extends TlKitError {
  /**
   * @param message - what is wrong with the dataset, naming the call.
   * @param options - `cause`: the underlying error.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATASET', message, options);
    this.name = 'DatasetError';
  }
}

/**
 * An image could not be decoded. Thrown for a single image given to a call (e.g. a classifier's `predict`);
 * inside a dataset the same failure becomes an entry of `DataLoader.skipped` instead.
 *
 * @example
 * ```ts
 * try { await classifier.predict(bytes); } catch (err) { if (err instanceof DecodeError) console.log(err.message); }
 * ```
 *
 * @category errors
 */
export class DecodeError extends TlKitError {
  /**
   * @param message - which image and why it failed.
   * @param options - `cause`: the decoder's error.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('DECODE', message, options);
    this.name = 'DecodeError';
  }
}

/**
 * A model does not fit the call: its output does not match the number of classes, a named layer does not exist, or
 * the model contains a layer tl-kit cannot handle.
 *
 * @example
 * ```ts
 * const model = Wrapper(base, { numClasses: 3 });
 * try {
 *   await fit(model, twoClassData); // a 3-way head cannot train on two classes
 * } catch (err) {
 *   if (err instanceof IncompatibleModelError) console.log(err.message);
 * }
 * ```
 *
 * @category errors
 */
export class IncompatibleModelError extends TlKitError {
  /**
   * @param message - what does not fit, naming the call and the model or layer.
   * @param options - `cause`: the underlying error.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('INCOMPATIBLE_MODEL', message, options);
    this.name = 'IncompatibleModelError';
  }
}

/**
 * A model, weights file or other resource could not be read, downloaded or parsed.
 *
 * @example
 * ```ts
 * try { await loadBase('https://example.com/model.json'); } catch (err) { if (err instanceof LoadError) console.log(err.cause); }
 * ```
 *
 * @category errors
 */
export class LoadError extends TlKitError {
  /**
   * @param message - what could not be loaded and from where.
   * @param options - `cause`: the underlying error (file system, fetch, parser).
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOAD', message, options);
    this.name = 'LoadError';
  }
}

/**
 * A model file was refused before anything was allocated: a weight path escapes the model's folder, or the manifest's
 * shapes and dtypes disagree with the weight data.
 *
 * @example
 * ```ts
 * try { await loadBase('./untrusted/model.json'); } catch (err) { if (err instanceof UnsafeModelError) console.log(err.message); }
 * ```
 *
 * @category errors
 */
export class UnsafeModelError extends TlKitError {
  /**
   * @param message - what was refused and why.
   * @param options - `cause`: the underlying error.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNSAFE_MODEL', message, options);
    this.name = 'UnsafeModelError';
  }
}

/**
 * Training failed: the loss became NaN, or a second `fit` was started on a model that is already training.
 *
 * @example
 * ```ts
 * try { await fit(model, data); } catch (err) { if (err instanceof TrainingError) console.log(err.message); }
 * ```
 *
 * @category errors
 */
export class TrainingError extends TlKitError {
  /**
   * @param message - what failed, naming the epoch and batch where known.
   * @param options - `cause`: the underlying error.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRAINING', message, options);
    this.name = 'TrainingError';
  }
}

/**
 * The running platform or backend cannot do what was asked (e.g. reading a folder in a browser).
 *
 * @example
 * ```ts
 * try { await DataLoader.fromDirectory('photos'); } catch (err) { if (err instanceof UnsupportedError) console.log('not in a browser'); }
 * ```
 *
 * @category errors
 */
export class UnsupportedError extends TlKitError {
  /**
   * @param message - what is unsupported and what to do instead.
   * @param options - `cause`: the underlying error.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED', message, options);
    this.name = 'UnsupportedError';
  }
}

/** Renders a received value briefly for an error message: arrays and objects as short JSON, strings quoted. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'function') return `a function`;
  if (Array.isArray(value) && value.every((v) => typeof v === 'number' || typeof v === 'string')) {
    const shown = value.slice(0, 10).map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
    return `[${shown.join(', ')}${value.length > 10 ? ', ...' : ''}]`;
  }
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  if (ctor && ctor !== 'Object' && ctor !== 'Array') return `a ${ctor}`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * The one way tl-kit reports use after `dispose()`: a {@link TlKitError} with code `DISPOSED` whose message names the
 * call and the object. Internal helper (every tl-kit object and a disposed Wrapper model raise it through here).
 *
 * @internal
 */
export function disposedError(call: string, what: string): TlKitError {
  return new TlKitError('DISPOSED', `${call}: ${what} was disposed; it cannot be used any more (create or load it again)`);
}
