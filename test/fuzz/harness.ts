/**
 * The fuzz harness: a seeded generator of hostile values and hostile bytes, and a case runner that holds every public
 * call to one contract. A call resolves, or it fails with a `TlKitError` (any subclass; or, unchanged, the exception a
 * caller's own callback threw); it never throws another error type, never leaves an unhandled rejection or an
 * uncaught exception behind, never runs past its time limit, and leaves `tf.memory().numTensors` where it found it
 * once the case has freed what the call returned and what the case made.
 *
 * `TLKIT_FUZZ_SEED` (default 1) seeds every family; `TLKIT_FUZZ_SCALE` (default 1) multiplies the case counts;
 * `TLKIT_FUZZ_VERBOSE=1` prints one summary line per family, `=2` also every distinct error message;
 * `TLKIT_FUZZ_TRACE=1` writes each case to stderr as it starts and ends.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TlKitError } from '../../src/errors';
import { createRng, hashString, type Rng } from '../../src/internal/rng';

/** Seed of this run (`TLKIT_FUZZ_SEED`). */
export const FUZZ_SEED = readNumber('TLKIT_FUZZ_SEED', 1);
/** Multiplier of every family's case count (`TLKIT_FUZZ_SCALE`). */
export const FUZZ_SCALE = readNumber('TLKIT_FUZZ_SCALE', 1);

function readNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

/** Number of cases of a family: `base` times `TLKIT_FUZZ_SCALE`, at least 1. */
export function caseCount(base: number): number {
  return Math.max(1, Math.round(base * FUZZ_SCALE));
}

/** What a hostile callback throws; a call may let it through unchanged (it is the caller's own exception). */
export class CallbackFault extends Error {
  constructor() {
    super('a fuzz callback threw');
    this.name = 'CallbackFault';
  }
}

/** Values hostile callbacks threw (errors and non-errors): a call that rethrows one of these unchanged passes. */
const thrownByCallbacks = new Set<unknown>();

function throwFromCallback(value: unknown): never {
  thrownByCallbacks.add(value);
  throw value;
}

/** An error for the caller's own code (a callback, a dataset's iterator) to throw; a call may pass it on unchanged. */
export function callerFault(): CallbackFault {
  const fault = new CallbackFault();
  thrownByCallbacks.add(fault);
  return fault;
}

/** Something the case made and frees at its end. */
type Owned = { dispose(): unknown } | tf.Tensor;

/** A seeded source of hostile values and bytes for one family. */
export class Fuzzer {
  readonly rng: Rng;
  readonly #owned: Owned[] = [];
  readonly #shared: SharedHostiles;

  constructor(family: string, shared: SharedHostiles) {
    this.rng = createRng(hashString(family, FUZZ_SEED));
    this.#shared = shared;
  }

  int(n: number): number {
    return this.rng.nextInt(n);
  }

  chance(p: number): boolean {
    return this.rng.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.rng.nextInt(items.length)] as T;
  }

  /** What the current case passed, for the failure message. */
  readonly notes: string[] = [];

  /** Records an argument of the current case (shown when the case fails); returns it. */
  note<T>(what: string, value: T): T {
    this.notes.push(`${what}=${render(value)}`);
    if (process.env.TLKIT_FUZZ_TRACE === '1') process.stderr.write(`  ${this.notes.at(-1)}\n`);
    return value;
  }

  /** Registers something the current case made, freed when the case ends. */
  own<T extends Owned>(value: T): T {
    this.#owned.push(value);
    return value;
  }

  /** Forgets what the current case made without freeing it (a call that is still running may be using it). */
  forgetOwned(): void {
    this.#owned.length = 0;
  }

  /** Frees what the current case made. */
  async releaseOwned(): Promise<void> {
    for (const value of this.#owned.splice(0).reverse()) {
      if (value instanceof tf.Tensor) value.dispose();
      else await value.dispose();
    }
  }

  /** One hostile value of any kind. */
  hostile(): unknown {
    const kind = this.int(10);
    if (kind < 3) return this.pick(primitives());
    if (kind < 5) return this.pick(strings());
    if (kind === 5) return this.pick(arrays());
    if (kind === 6) return this.pick(objects());
    if (kind === 7) return this.callback();
    if (kind === 8) return this.pick(binaries());
    return this.tensorish();
  }

  /** A hostile number (or number-like value). */
  number(): unknown {
    return this.chance(0.8) ? this.pick(NUMBERS) : this.hostile();
  }

  /**
   * A hostile function: returns garbage or `this`, throws (an Error or not), and, by `kind`:
   * - `'notify'` (the default, and what {@link Fuzzer.hostile} gives): nothing more. For notifications whose return
   *   value nobody reads (`onProgress`, `onBaseBegin`, a stream's `write`): a promise such a function returns and
   *   rejects is the caller's own unhandled rejection.
   * - `'awaited'`: also returns a rejected promise. For functions the library awaits (an IOHandler's `load`, the
   *   training callbacks).
   * - `'any'`: also returns a promise that never settles. For functions the library promises to time out (`fetch`).
   */
  callback(kind: 'notify' | 'awaited' | 'any' = 'notify'): (...args: unknown[]) => unknown {
    const which = this.int(kind === 'any' ? 8 : kind === 'awaited' ? 7 : 6);
    switch (which) {
      case 0:
        return () => undefined;
      case 1:
        return () => 42;
      case 2:
        return () => throwFromCallback(new CallbackFault());
      case 3:
        return () => throwFromCallback(this.pick(['a string', 7, Object.create(null), Symbol('thrown'), null]));
      case 4:
        return () => ({ then: 1, dispose: 'no' });
      case 5:
        return function (this: unknown) {
          return this;
        };
      case 6:
        return async () => throwFromCallback(new CallbackFault());
      default:
        return () => new Promise(() => undefined);
    }
  }

  /** A tensor or model that does not fit: wrong rank, dtype or size, empty, NaN, disposed. */
  tensorish(): unknown {
    const which = this.int(12);
    switch (which) {
      case 0:
        return this.own(tf.scalar(3));
      case 1:
        return this.own(tf.tensor1d([1, 2, 3]));
      case 2:
        return this.own(tf.zeros([1, 2, 2, 2]));
      case 3:
        return this.own(tf.zeros([2, 2, 3], 'int32'));
      case 4:
        return this.own(tf.zeros([0, 4, 4, 3]));
      case 5:
        return this.own(tf.tensor(['a', 'b', 'c'], [1, 1, 3], 'string'));
      case 6:
        return this.own(tf.fill([2, 4, 4, 3], NaN));
      case 7:
        return this.own(tf.zeros([2, 2, 3], 'bool'));
      case 8:
        return this.#shared.disposedTensor;
      case 9:
        return this.#shared.disposedModel;
      case 10:
        return this.#shared.disposedWrapper;
      default:
        return this.own(tf.zeros([0, 0, 3]));
    }
  }

  /**
   * Hostile bytes: random, empty, or `valid` damaged (cut short, bits flipped, a window overwritten, a piece
   * repeated, zeroed, garbage appended, only its header).
   */
  bytes(valid?: Uint8Array): Uint8Array<ArrayBuffer> {
    const random = (n: number): Uint8Array<ArrayBuffer> => Uint8Array.from({ length: n }, () => this.int(256));
    if (valid === undefined || valid.length === 0 || this.chance(0.15)) return this.chance(0.1) ? new Uint8Array(0) : random(1 + this.int(2048));
    const out = Uint8Array.from(valid);
    switch (this.int(7)) {
      case 0:
        return out.subarray(0, this.int(out.length));
      case 1: {
        const flips = 1 + this.int(16);
        for (let i = 0; i < flips; i++) {
          const at = this.int(out.length);
          out[at] = (out[at] as number) ^ (1 << this.int(8));
        }
        return out;
      }
      case 2: {
        const at = this.int(out.length);
        const window = random(Math.min(out.length - at, 1 + this.int(64)));
        out.set(window, at);
        return out;
      }
      case 3: {
        const at = this.int(out.length);
        const piece = out.subarray(at, at + 1 + this.int(256));
        const copy = new Uint8Array(out.length + piece.length);
        copy.set(out.subarray(0, at + piece.length));
        copy.set(piece, at + piece.length);
        copy.set(out.subarray(at + piece.length), at + 2 * piece.length);
        return copy;
      }
      case 4:
        return new Uint8Array(out.length);
      case 5: {
        const tail = random(1 + this.int(512));
        const copy = new Uint8Array(out.length + tail.length);
        copy.set(out);
        copy.set(tail, out.length);
        return copy;
      }
      default:
        return out.subarray(0, Math.min(out.length, 8 + this.int(64)));
    }
  }

  /** `value` (parsed JSON) with 1 to `most` random spots each replaced by a hostile JSON value, removed, or given a stray key. */
  json(value: unknown, most = 1): unknown {
    let out = this.jsonOnce(value);
    for (let n = this.int(most); n > 0; n--) out = this.jsonOnce(out);
    return out;
  }

  private jsonOnce(value: unknown): unknown {
    const copy = JSON.parse(JSON.stringify(value)) as unknown;
    const spots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach((v, i) => (spots.push({ parent: node, key: i }), walk(v)));
      else if (typeof node === 'object' && node !== null) {
        for (const [k, v] of Object.entries(node)) spots.push({ parent: node as Record<string, unknown>, key: k }), walk(v);
      }
    };
    walk(copy);
    if (spots.length === 0) return this.pick(JSON_VALUES);
    const { parent, key } = this.pick(spots);
    const action = this.int(6);
    if (action === 0 && !Array.isArray(parent)) {
      delete parent[key as string];
      this.note('json', `deleted ${String(key)}`);
    } else if (action === 1 && !Array.isArray(parent)) {
      const stray = this.pick(['__proto__', 'constructor', 'toString', 'zz_unknown']);
      const value = this.pick(JSON_VALUES);
      Object.defineProperty(parent, stray, { value, enumerable: true, configurable: true, writable: true });
      this.note('json', `added ${stray} next to ${String(key)}: ${render(value)}`);
    } else {
      const value = this.pick(JSON_VALUES);
      (parent as Record<string | number, unknown>)[key] = value;
      this.note('json', `${String(key)} = ${render(value)}`);
    }
    return copy;
  }

  /**
   * A valid object with hostile option values: one key set to a hostile value, several keys at once, an unknown or
   * prototype-ish key added, or the whole object replaced. `pool(key)` may give a key-specific hostile value.
   */
  options<T extends object>(valid: T, keys: readonly string[], pool?: (key: string) => unknown): unknown {
    const value = (key: string): unknown => (pool !== undefined && this.chance(0.5) ? pool(key) : this.hostile());
    const roll = this.int(10);
    if (roll === 0) return this.hostile();
    const out: Record<string, unknown> = { ...(valid as Record<string, unknown>) };
    if (roll === 1) {
      const key = this.pick(['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'imgSize', 'x'.repeat(300), '']);
      Object.defineProperty(out, key, { value: this.hostile(), enumerable: true, configurable: true, writable: true });
      return out;
    }
    const n = roll < 7 ? 1 : 2 + this.int(3);
    for (let i = 0; i < n; i++) {
      const key = this.pick(keys);
      out[key] = value(key);
    }
    return out;
  }
}

/**
 * `options` with `timeoutMs` set to `ms` where it was left out: a hostile server or `fetch` that never answers then
 * fails the case in `ms` rather than after the documented default (30 s or more), longer than a case may take.
 */
export function boundWaits(options: unknown, ms = 1000): unknown {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return options;
  if ((options as { timeoutMs?: unknown }).timeoutMs !== undefined) return options;
  return { ...options, timeoutMs: ms };
}

const NUMBERS: readonly unknown[] = [NaN, Infinity, -Infinity, -1, 0, -0, 0.5, 1.5, 1e9, -1e9, 2 ** 31, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, 1, 2, 3];

const JSON_VALUES: readonly unknown[] = [null, -1, 0, 0.5, 1e9, -1e308, 1e308, '', '../../../etc/passwd', '/dev/zero', 'x'.repeat(4096), [], [1e9, 1e9], [-1], {}, true, { __proto__x: 1 }, 'string', 'float32', 'int32', 'Dense'];

function primitives(): readonly unknown[] {
  return [undefined, null, ...NUMBERS, true, false, 10n, -(2n ** 70n), Symbol('hostile')];
}

function strings(): readonly unknown[] {
  return [
    '',
    ' ',
    'x'.repeat(100_000),
    '\u0000',
    'é🙂\u202e\ud800',
    '../../../../../../etc/passwd',
    '..',
    '.',
    '/',
    '/dev/zero',
    '/dev/null',
    'file:///dev/zero',
    'file://',
    'file://host/share/model.json',
    'http://127.0.0.1:9/model.json',
    'https://',
    'data:,not-an-image',
    'blob:nothing',
    'NaN',
    '__proto__',
    'constructor',
    'toString',
    'avg',
    'tfjs',
    'train',
    '%00%2e%2e/%2e%2e',
    'C:\\Windows\\system32',
  ];
}

function arrays(): readonly unknown[] {
  const cyclic: unknown[] = [1, 2];
  cyclic.push(cyclic);
  // eslint-disable-next-line no-sparse-arrays
  const holes = [, 3, , 3];
  return [[], [undefined], [null], [NaN, NaN, NaN], [1], [1, 2], [1, 2, 3, 4], [0, 0, 0], [-1, -1, -1], [1e9, 1e9, 3], [8, 8, 3], [8, 8], ['a', 'b'], [[1]], holes, cyclic, [Symbol('s')], [1n, 2n], new Array(100_000).fill(1)];
}

function objects(): readonly unknown[] {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  return [
    {},
    { unknownKey: 1 },
    Object.create(null),
    JSON.parse('{"__proto__": {"polluted": true}}'),
    { constructor: 'x' },
    { toString: 1, valueOf: 1 },
    cyclic,
    new Date(NaN),
    /regex/g,
    new Map([[1, 2]]),
    new Error('not an option'),
    { then: () => undefined },
    { data: new Uint8Array(3), width: 1e9, height: 1e9, channels: 3 },
    { data: [1, 2, 3], width: 1, height: 1, channels: 5 },
    { source: 'x', label: {} },
    { length: 2 ** 32 - 1 },
  ];
}

function binaries(): readonly unknown[] {
  return [
    new Uint8Array(0),
    Uint8Array.from({ length: 16 }, (_, i) => (i * 37) & 255),
    new Float32Array([NaN, Infinity, -1]),
    new Int32Array(3),
    new ArrayBuffer(8),
    new DataView(new ArrayBuffer(4)),
    Buffer.from('not an image'),
    new Uint8Array(new SharedArrayBuffer(8)),
  ];
}

/** Disposed objects every family reuses (made once per file). */
export interface SharedHostiles {
  readonly disposedTensor: tf.Tensor;
  readonly disposedModel: tfl.LayersModel;
  readonly disposedWrapper: tfl.LayersModel;
}

/** Makes the shared disposed objects from a fresh tiny model and a Wrapper around another. */
export function makeSharedHostiles(tiny: () => tfl.LayersModel, wrap: (base: tfl.LayersModel) => tfl.LayersModel): SharedHostiles {
  const disposedTensor = tf.tensor1d([1, 2]);
  disposedTensor.dispose();
  const disposedModel = tiny();
  disposedModel.dispose();
  const base = tiny();
  const disposedWrapper = wrap(base);
  disposedWrapper.dispose();
  base.dispose();
  return { disposedTensor, disposedModel, disposedWrapper };
}

/** Errors and rejections nobody handled, collected while a case runs. */
const processFaults: string[] = [];
let watching = false;

/** Starts recording unhandled rejections and uncaught exceptions (once per file). */
export function watchProcess(): void {
  if (watching) return;
  watching = true;
  process.on('unhandledRejection', (reason) => processFaults.push(`unhandled rejection: ${describe(reason)}`));
  process.on('uncaughtException', (err) => processFaults.push(`uncaught exception: ${describe(err)}`));
}

/** A short rendering of any value for failure messages. */
export function render(value: unknown, depth = 0): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...(${value.length})` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  if (typeof value !== 'object' || value === null) return String(value);
  if (value instanceof tf.Tensor) return `Tensor(${value.isDisposed ? 'disposed' : `${value.dtype} ${JSON.stringify(value.shape)}`})`;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `${value.constructor.name}(${value.byteLength})`;
  if (depth > 2) return '...';
  if (Array.isArray(value)) return value.length > 8 ? `Array(${value.length})` : `[${value.map((v) => render(v, depth + 1)).join(', ')}]`;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  const name = proto === null ? 'null-proto' : proto.constructor?.name ?? '?';
  if (name !== 'Object') return `a ${name}`;
  const entries = Object.entries(value as Record<string, unknown>).slice(0, 8);
  return `{${entries.map(([k, v]) => `${k}: ${render(v, depth + 1)}`).join(', ')}}`;
}

function describe(value: unknown): string {
  if (value instanceof Error) {
    const where = value.stack?.split('\n').find((line) => line.includes('/src/'))?.trim();
    return `${value.name}: ${value.message.slice(0, 300)}${where ? ` (${where})` : ''}`;
  }
  try {
    return `a thrown ${typeof value}: ${String(value)}`;
  } catch {
    return `a thrown ${typeof value}`;
  }
}

/** Options of one case. */
export interface CaseOptions {
  /** Longest the call may take, in milliseconds. */
  readonly timeoutMs?: number;
}

/** One family's run: its fuzzer, its counts and its failures. */
export class FuzzRun {
  readonly fuzzer: Fuzzer;
  readonly failures: string[] = [];
  cases = 0;
  resolved = 0;
  refused = 0;
  readonly codes: Record<string, number> = {};
  readonly #started = performance.now();
  readonly #messages = new Set<string>();

  constructor(
    readonly family: string,
    shared: SharedHostiles,
  ) {
    watchProcess();
    this.fuzzer = new Fuzzer(family, shared);
  }

  /**
   * Runs one case. `body` builds its arguments (with the fuzzer, registering what it makes with `fuzzer.own`), calls
   * the entry point and registers what the call returned with `fuzzer.own` too; the case then frees all of it and
   * checks the contract.
   */
  async check(label: string, body: (f: Fuzzer) => unknown, options: CaseOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    let name = `${this.family} #${this.cases} ${label}`;
    this.cases++;
    this.fuzzer.notes.length = 0;
    const before = tf.memory().numTensors;
    const started = performance.now();
    const trace = process.env.TLKIT_FUZZ_TRACE === '1';
    if (trace) process.stderr.write(`> ${name}\n`);
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(body(this.fuzzer));
    } catch (err) {
      pending = Promise.reject(err);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<{ kind: 'hang' }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'hang' }), timeoutMs);
    });
    const outcome = await Promise.race([
      pending.then(
        () => ({ kind: 'ok' as const }),
        (error: unknown) => ({ kind: 'error' as const, error }),
      ),
      hang,
    ]);
    clearTimeout(timer);
    const took = performance.now() - started;
    if (this.fuzzer.notes.length > 0) name += ` (${this.fuzzer.notes.join('; ')})`;
    if (trace) process.stderr.write(`< ${Math.round(took)} ms ${outcome.kind} ${this.fuzzer.notes.join('; ').slice(0, 600)}\n`);
    // Let rejections that nobody handled surface before the case is judged.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const fault of processFaults.splice(0)) this.failures.push(`${name}: ${fault}`);
    if (outcome.kind === 'hang') {
      this.failures.push(`${name}: still running after ${timeoutMs} ms`);
      this.fuzzer.forgetOwned();
      return; // what the call holds is unknown while it runs: neither freed nor counted
    }
    if (took > timeoutMs) this.failures.push(`${name}: took ${Math.round(took)} ms (limit ${timeoutMs} ms)`);
    if (outcome.kind === 'ok') this.resolved++;
    else if (outcome.error instanceof TlKitError) {
      this.refused++;
      if (label.startsWith('control ')) this.failures.push(`${name}: refused: ${outcome.error.message.slice(0, 300)}`);
      this.#messages.add(`${outcome.error.name}: ${outcome.error.message.slice(0, 240)}`);
      this.codes[outcome.error.code] = (this.codes[outcome.error.code] ?? 0) + 1;
    } else if (thrownByCallbacks.has(outcome.error)) this.refused++;
    else this.failures.push(`${name}: not a TlKitError: ${describe(outcome.error)}`);
    try {
      await this.fuzzer.releaseOwned();
    } catch (err) {
      this.failures.push(`${name}: freeing what the case made failed: ${describe(err)}`);
    }
    const after = tf.memory().numTensors;
    if (after !== before) this.failures.push(`${name}: tf.memory().numTensors went from ${before} to ${after} (${outcome.kind})`);
  }

  /**
   * Runs a control case: valid arguments that must resolve, so that a family whose random cases happen to be all
   * refused still shows that the entry point works (and that the fixtures are right).
   */
  async control(label: string, body: (f: Fuzzer) => unknown, options: CaseOptions = {}): Promise<void> {
    const resolved = this.resolved;
    const failures = this.failures.length;
    await this.check(`control ${label}`, body, options);
    if (this.resolved === resolved && this.failures.length === failures) this.failures.push(`${this.family}: control case '${label}' did not resolve`);
  }

  /** A one-line summary (cases, outcomes, codes, seconds). */
  summary(): string {
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    return `fuzz ${this.family} (seed ${FUZZ_SEED}): ${this.cases} cases, ${this.resolved} resolved, ${this.refused} refused ${JSON.stringify(this.codes)}, ${this.failures.length} failures, ${seconds} s`;
  }

  /** Prints the summary when `TLKIT_FUZZ_VERBOSE=1`. */
  report(): void {
    const verbose = process.env.TLKIT_FUZZ_VERBOSE;
    if (verbose === '1' || verbose === '2') {
      process.stdout.write(`${this.summary()}\n`);
      for (const failure of this.failures) process.stdout.write(`  FAILURE ${failure}\n`);
    }
    if (verbose === '2') for (const message of this.#messages) process.stdout.write(`  ${message}\n`);
  }
}
