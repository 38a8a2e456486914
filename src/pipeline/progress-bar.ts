/**
 * Progress output for `fit` in Node, with Keras's verbosity levels: `1` redraws a one-line bar on a terminal and writes
 * one line per epoch (plus the start and end of feature extraction) anywhere else (CI logs, pipes, files); `2` always
 * writes one line per epoch. It writes to a stream (stderr by default), never to the console.
 */
import { InvalidArgumentError } from '../errors';
import { checkOptionKeys, checkOptionsObject, checkPositiveInteger } from '../internal/validate';
import type { ExtractionProgress, TrainingCallback, TrainingLogs, TrainingParams } from './callbacks';

/**
 * The part of a Node writable stream the progress bar uses.
 *
 * @category training
 */
export interface ProgressStream {
  /** Writes text. */
  write(text: string): unknown;
  /** True for a terminal: only a terminal gets the redrawn bar. */
  readonly isTTY?: boolean;
  /** Terminal width in characters, when known. */
  readonly columns?: number;
}

/**
 * Options of {@link progressBar}.
 *
 * @category training
 */
export interface ProgressBarOptions {
  /**
   * Where the progress goes.
   * @defaultValue `process.stderr` in Node; none in a browser (the callback is then silent)
   */
  readonly stream?: ProgressStream;
  /**
   * Keras's verbosity: `1` redraws a bar on a TTY and falls back to one line per epoch (plus the start and end of
   * feature extraction) on any other stream; `2` always writes those lines, never the bar.
   * @defaultValue `1`
   */
  readonly verbose?: 1 | 2;
  /**
   * Width of the bar itself in characters.
   * @defaultValue `24`
   */
  readonly width?: number;
  /**
   * Clock in milliseconds, for tests.
   * @defaultValue `performance.now`
   */
  readonly now?: () => number;
}

const OPTION_KEYS: Readonly<Record<keyof ProgressBarOptions, true>> = { stream: true, verbose: true, width: true, now: true };

/** Formats seconds as `1m05s` / `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Formats the logged values `loss`, `acc`, `val_loss`, `val_acc` that are present. */
function formatLogs(logs: TrainingLogs): string {
  const parts: string[] = [];
  for (const key of ['loss', 'acc', 'val_loss', 'val_acc']) {
    const v = logs[key];
    if (v !== undefined) parts.push(`${key} ${v.toFixed(4)}`);
  }
  return parts.join('  ');
}

/** Resolves the default stream lazily so a browser bundle never touches `process`. */
function defaultStream(): ProgressStream | undefined {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  return proc?.stderr;
}

/**
 * A progress callback for `fit` (`verbose: 1` or `2` adds one on stderr), with Keras's verbosity levels.
 *
 * - `verbose: 1` on a TTY redraws one line per batch,
 *   `epoch 2/10 [=====>      ] 12/40  310 img/s  ETA 9s  loss 0.4123  acc 0.8125`, and ends each epoch with the
 *   validation values; on any other stream (a CI log, a pipe, a file) it writes plain lines instead: one when feature
 *   extraction starts and one when it ends, then one per epoch.
 * - `verbose: 2` writes those plain lines on every stream.
 *
 * @param options - see {@link ProgressBarOptions}.
 * @returns the callback.
 * @throws {@link InvalidArgumentError} for a bad or unknown option.
 * @example
 * ```ts
 * await fit(model, data, { callbacks: [progressBar({ stream: process.stdout, verbose: 2 })] });
 * ```
 *
 * @category training
 */
export function progressBar(options: ProgressBarOptions = {}): TrainingCallback {
  const call = 'progressBar';
  checkOptionsObject(call, options);
  checkOptionKeys<ProgressBarOptions>(call, options, OPTION_KEYS);
  const width = options.width ?? 24;
  checkPositiveInteger(call, 'width', width);
  if (options.stream !== undefined && typeof options.stream?.write !== 'function') {
    throw new InvalidArgumentError(call, 'stream', 'a writable stream (an object with write())', options.stream);
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new InvalidArgumentError(call, 'now', 'a function returning milliseconds', options.now);
  }
  const now = options.now ?? (() => performance.now());
  const verbose = options.verbose ?? 1;
  if (verbose !== 1 && verbose !== 2) throw new InvalidArgumentError(call, 'verbose', '1 or 2', verbose);
  let stream: ProgressStream | undefined;
  /** True when the bar is redrawn in place (verbose 1 on a TTY); false for one plain line per event. */
  let redraw = false;
  let params: TrainingParams | undefined;
  let epoch = 0;
  let epochStart = 0;
  let seen = 0;
  let sumLoss = 0;
  let sumAcc = 0;
  let hasAcc = false;
  let lastDraw = -Infinity;

  const line = (batch: number): string => {
    const steps = params?.steps ?? 0;
    const epochs = params?.epochs ?? 0;
    const done = steps > 0 ? Math.min(1, batch / steps) : 0;
    const filled = Math.round(done * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done >= 1 ? '=' : '>') : '');
    const elapsed = (now() - epochStart) / 1000;
    const rate = elapsed > 0 ? seen / elapsed : 0;
    const eta = batch > 0 ? (elapsed / batch) * (steps - batch) : Number.NaN;
    const logs: TrainingLogs = seen > 0 ? { loss: sumLoss / seen } : {};
    if (hasAcc && seen > 0) logs.acc = sumAcc / seen;
    const text =
      `epoch ${epoch + 1}/${epochs} [${bar.padEnd(width)}] ${batch}/${steps}  ` +
      `${rate.toFixed(0)} img/s  ETA ${formatDuration(eta)}  ${formatLogs(logs)}`;
    const columns = stream?.columns;
    return columns !== undefined && columns > 10 && text.length >= columns ? text.slice(0, columns - 1) : text;
  };

  let extractStart = -1;
  let extractStartDone = 0;
  const resolveStream = (): void => {
    stream = options.stream ?? defaultStream();
    redraw = verbose === 1 && stream?.isTTY === true;
  };

  return {
    setParams(p: TrainingParams) {
      params = p;
    },
    onExtractionProgress(p: ExtractionProgress) {
      const finished = p.done >= p.total;
      if (extractStart < 0) {
        // The first event arrives after the first batch: rates count from there, or they would divide a batch by ~0 s.
        resolveStream();
        extractStart = now();
        extractStartDone = p.done;
        lastDraw = -Infinity;
        // The engine that runs the base, and why 'auto' fell back if it did, once per fit (train comes first).
        if (p.split === 'train') stream?.write(`${redraw ? '\r\x1b[K' : ''}frozen base: ${p.runtime.summary}\n`);
        if (!redraw) stream?.write(`extracting ${p.split} features of ${p.total} images\n`);
      }
      if (!stream) return;
      const t = now();
      const elapsed = (t - extractStart) / 1000;
      const counted = p.done - extractStartDone;
      const rate = elapsed > 0 && counted > 0 ? counted / elapsed : 0;
      const shownRate = rate > 0 ? `${rate.toFixed(0)} img/s` : '-- img/s';
      if (finished) extractStart = -1;
      if (!redraw) {
        if (finished) stream.write(`extracted ${p.split} features ${p.done}/${p.total}${rate > 0 ? `  ${shownRate}` : ''}\n`);
        return;
      }
      if (t - lastDraw < 50 && !finished) return;
      lastDraw = t;
      const eta = rate > 0 ? (p.total - p.done) / rate : Number.NaN;
      const text = `extracting ${p.split} features ${p.done}/${p.total}  ${shownRate}  ETA ${formatDuration(eta)}`;
      stream.write(`\r${text}\x1b[K${finished ? '\n' : ''}`);
    },
    onTrainBegin() {
      resolveStream();
    },
    onEpochBegin(e: number) {
      epoch = e;
      epochStart = now();
      seen = 0;
      sumLoss = 0;
      sumAcc = 0;
      hasAcc = false;
      lastDraw = -Infinity;
    },
    onBatchEnd(batch: number, logs?: TrainingLogs) {
      const size = logs?.size ?? 1;
      seen += size;
      sumLoss += (logs?.loss ?? 0) * size;
      if (logs?.acc !== undefined) {
        hasAcc = true;
        sumAcc += logs.acc * size;
      }
      // Redraw at most ~20 times per second, and only in place; plain lines come once per epoch.
      if (!redraw || !stream) return;
      const t = now();
      if (t - lastDraw < 50) return;
      lastDraw = t;
      stream.write(`\r${line(batch + 1)}\x1b[K`);
    },
    onEpochEnd(_e: number, logs?: TrainingLogs) {
      if (!stream) return;
      const steps = params?.steps ?? 0;
      const elapsed = (now() - epochStart) / 1000;
      const rate = elapsed > 0 ? seen / elapsed : 0;
      const text =
        `epoch ${epoch + 1}/${params?.epochs ?? 0} ${steps}/${steps}  ${formatDuration(elapsed)}  ` +
        `${rate.toFixed(0)} img/s  ${formatLogs(logs ?? {})}`;
      stream.write(redraw ? `\r${text}\x1b[K\n` : `${text}\n`);
    },
  };
}
