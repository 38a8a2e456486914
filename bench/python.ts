/**
 * The Python side of the benchmarks: a virtual environment with TensorFlow and Keras at the versions the issue names,
 * and a client for bench/keras_bench.py (one process per TensorFlow thread count). Never part of `npm test`.
 *
 * The venv lives in `.cache/bench-venv` (or `$TLKIT_BENCH_VENV`) and is created on first use with
 * `python3 -m venv` and `pip install`; pip uses whatever index the machine is configured with (on the project's
 * machines a local wheel store, offline). Where no Python 3 is found, or pip fails, the callers skip the Keras
 * figures and print why.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

/** What the Keras side needs; scikit-image and Pillow make and read the tutorial's photos. */
export const PYTHON_PACKAGES = ['tensorflow-cpu==2.21.0', 'keras==3.15.1', 'scikit-image', 'pillow'] as const;

/** The venv's folder. */
export function venvDir(): string {
  return process.env['TLKIT_BENCH_VENV'] ?? join(root, '.cache', 'bench-venv');
}

function venvPython(): string {
  return join(venvDir(), 'bin', 'python');
}

/** A Python 3 interpreter on the PATH (python3, then python), or undefined. */
function findPython(): string | undefined {
  for (const name of ['python3', 'python']) {
    const probe = spawnSync(name, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === '3') return name;
  }
  return undefined;
}

/** True when the venv's Python imports TensorFlow and Keras at the pinned versions, and the photo packages. */
function venvReady(): boolean {
  if (!existsSync(venvPython())) return false;
  const check = [
    'import tensorflow as tf, keras, skimage, PIL',
    "assert tf.__version__ == '2.21.0', tf.__version__",
    "assert keras.__version__ == '3.15.1', keras.__version__",
  ].join('\n');
  const probe = spawnSync(venvPython(), ['-c', check], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  return probe.status === 0;
}

/**
 * The venv's Python, creating the venv and installing {@link PYTHON_PACKAGES} when needed; or a sentence saying why
 * there is none (no Python 3, or pip failed), for the caller to print and record.
 */
export function ensurePython(): { python: string } | { skipped: string } {
  if (venvReady()) return { python: venvPython() };
  const system = findPython();
  if (system === undefined) return { skipped: 'no Python 3 found on the PATH (python3 or python): the Keras/TensorFlow side was not measured' };
  process.stderr.write(`creating the benchmark venv in ${venvDir()} (${PYTHON_PACKAGES.join(', ')}); this takes a few minutes once\n`);
  const venv = spawnSync(system, ['-m', 'venv', venvDir()], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (venv.status !== 0) return { skipped: `\`${system} -m venv ${venvDir()}\` failed (status ${venv.status}): the Keras/TensorFlow side was not measured` };
  const pip = spawnSync(venvPython(), ['-m', 'pip', 'install', ...PYTHON_PACKAGES], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (pip.status !== 0 || !venvReady()) {
    return { skipped: `pip could not install ${PYTHON_PACKAGES.join(', ')} into ${venvDir()} (status ${pip.status}): the Keras/TensorFlow side was not measured` };
  }
  return { python: venvPython() };
}

/** Runs a script of bench/ with the venv's Python and returns its exit status. */
export function runPythonScript(python: string, script: string, args: readonly string[]): number | null {
  const result = spawnSync(python, [join(here, script), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  return result.status;
}

/** TensorFlow's start-up and deprecation notices, printed by every process whatever the log level. */
const TF_NOISE =
  /absl::InitializeLog|oneDNN custom operations|cpu_feature_guard|rebuild TensorFlow|To enable the following instructions|tensor_shape_from_node_def_name|Instructions for updating|designed for TensorFlow v1/;

/** What keras_bench.py says when it starts. */
export interface KerasHello {
  readonly threads: number;
  readonly intraOp: number;
  readonly interOp: number;
  readonly versions: { readonly python: string; readonly tensorflow: string; readonly keras: string; readonly numpy: string };
  readonly onednn: string;
}

/** A running keras_bench.py on a fixed number of TensorFlow threads. */
export class KerasServer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  #closed = false;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    // TensorFlow's own logs: passed through, indented, so that a failure shows; its start-up banners are left out.
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.trim() !== '' && !TF_NOISE.test(line)) process.stderr.write(`  [keras] ${line}\n`);
    });
  }

  /** Starts keras_bench.py with `threads` TensorFlow threads and waits for its greeting (TensorFlow's import). */
  static async start(python: string, threads: number): Promise<{ server: KerasServer; hello: KerasHello }> {
    const child = spawn(python, ['-u', join(here, 'keras_bench.py'), '--threads', String(threads)], {
      cwd: root,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    const server = new KerasServer(child);
    const hello = (await server.#next(300_000)) as unknown as KerasHello;
    return { server, hello };
  }

  async #next(timeoutMs: number): Promise<Record<string, unknown>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`keras_bench.py gave no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const next = await Promise.race([this.#lines.next(), timeout]);
      if (next.done) throw new Error('keras_bench.py exited');
      const answer = JSON.parse(next.value) as Record<string, unknown>;
      if (typeof answer['error'] === 'string') throw new Error(`keras_bench.py: ${answer['error']}`);
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends one request and waits (at most `timeoutMs`) for its answer. */
  async request<T>(request: Record<string, unknown>, timeoutMs = 600_000): Promise<T> {
    if (this.#closed) throw new Error('keras_bench.py was closed');
    this.#child.stdin.write(`${JSON.stringify(request)}\n`);
    return (await this.#next(timeoutMs)) as T;
  }

  /** Asks the process to quit and waits for it (killed after 10 s). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
