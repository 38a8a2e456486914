/**
 * `npm run bench:demo -- --before <commit>`: runs `npm run demo` on an earlier commit and on this working tree, on the
 * same machine, one after the other (alternating, `--runs` times each), and records each base's fit seconds and
 * accuracies from the demo's comparison table, with the load average around every run. Writes docs/bench/demo.json
 * and re-renders docs/benchmarks.md.
 *
 * The earlier commit is checked out with `git worktree add --detach` under the system's temporary folder (reused on
 * later runs), with this tree's node_modules linked into it (the commits compared must share their dependencies'
 * versions; extra packages are harmless). The worktree is left in place; `git worktree remove <dir>` removes it.
 *
 * Usage: tsx bench/demo-compare.ts [--before 810b105] [--runs 1] [-- demo options...]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine } from './machine';
import { writeSummary } from './summary';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const args = process.argv.slice(2);
const separator = args.indexOf('--');
const own = separator >= 0 ? args.slice(0, separator) : args;
const demoArgs = separator >= 0 ? args.slice(separator + 1) : [];
const value = (name: string, fallback: string): string => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 ? (own[i + 1] ?? fallback) : fallback;
};

/** One base's row of the demo's comparison table. */
export interface DemoRow {
  readonly base: string;
  readonly accuracyBefore: number;
  readonly accuracyAfter: number;
  readonly testLoss: number;
  readonly fitSeconds: number;
  readonly totalSeconds: number;
  /** "frozen base runs on ..." or fit's "frozen base: ..." line, as the demo printed it (absent in older demos). */
  readonly runtime?: string;
}

/** One `npm run demo`. */
export interface DemoRun {
  readonly side: 'before' | 'after';
  /** 1-, 5- and 15-minute load averages before and after the run. */
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly wallSeconds: number;
  readonly rows: readonly DemoRow[];
}

/** docs/bench/demo.json */
export interface DemoComparison {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly before: { readonly commit: string; readonly subject: string };
  readonly after: {
    readonly commit: string;
    readonly subject: string;
    /** The last commit that changed src/ or demo/ (what the demo runs). */
    readonly lastCodeCommit?: string;
    /** Uncommitted changes under src/ or demo/. */
    readonly dirty: boolean;
  };
  readonly demoArgs: readonly string[];
  readonly runs: readonly DemoRun[];
}

function git(cwd: string, ...gitArgs: string[]): string {
  const r = spawnSync('git', gitArgs, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${gitArgs.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Parses the comparison table and the per-base runtime lines out of the demo's output. */
export function parseDemoOutput(text: string): DemoRow[] {
  const lines = text.split('\n');
  const runtimes: string[] = [];
  for (const line of lines) {
    const m = /frozen base(?: runs on|:) (.*)$/.exec(line);
    if (m) runtimes.push((m[1] as string).trim());
  }
  const start = lines.findIndex((l) => /^4\. Comparison/.test(l.trim()));
  if (start < 0) throw new Error('the demo printed no comparison table');
  const rows: DemoRow[] = [];
  // Header, a line of dashes, then one row per base up to the first blank line.
  for (const line of lines.slice(start + 3)) {
    if (line.trim() === '') break;
    const cells = line.trim().split(/\s{2,}/);
    if (cells.length < 6) break;
    const [base, before, after, loss, fitS, totalS] = cells as [string, string, string, string, string, string];
    rows.push({
      base,
      accuracyBefore: Number(before),
      accuracyAfter: Number(after),
      testLoss: Number(loss),
      fitSeconds: Number(fitS),
      totalSeconds: Number(totalS),
      ...(runtimes[rows.length] !== undefined ? { runtime: runtimes[rows.length] } : {}),
    });
  }
  return rows;
}

/**
 * Runs `npm run demo` in `cwd`, echoing its output to stderr, and returns stdout and stderr (the progress bar's
 * "frozen base:" lines go to stderr) one after the other.
 */
function runDemo(cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'demo', '--', ...demoArgs], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(`${stdout}\n${stderr}`) : reject(new Error(`npm run demo in ${cwd} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const before = git(root, 'rev-parse', '--short', value('before', '810b105'));
  const runs = Number(value('runs', '1'));
  const dir = join(tmpdir(), `tl-kit-demo-${before}`);
  if (!existsSync(dir)) {
    // A folder deleted by hand (or by a reboot) stays registered until pruned, and `worktree add` would refuse it.
    git(root, 'worktree', 'prune');
    git(root, 'worktree', 'add', '--detach', dir, before);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  }
  const results: DemoRun[] = [];
  for (let r = 0; r < runs; r++) {
    for (const [side, cwd] of [['before', dir], ['after', root]] as const) {
      process.stderr.write(`\n=== npm run demo, ${side} (${cwd}), round ${r + 1}/${runs} ===\n`);
      const loadBefore = loadavg();
      const t0 = performance.now();
      const output = await runDemo(cwd);
      results.push({ side, loadBefore, loadAfter: loadavg(), wallSeconds: (performance.now() - t0) / 1000, rows: parseDemoOutput(output) });
    }
  }
  const comparison: DemoComparison = {
    date: new Date().toISOString(),
    command: `npm run bench:demo${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
    machine: machineLine(),
    before: { commit: before, subject: git(root, 'log', '-1', '--format=%s', before) },
    after: {
      commit: git(root, 'rev-parse', '--short', 'HEAD'),
      subject: git(root, 'log', '-1', '--format=%s', 'HEAD'),
      lastCodeCommit: git(root, 'log', '-1', '--format=%h', '--', 'src', 'demo'),
      dirty: git(root, 'status', '--porcelain', '--', 'src', 'demo').length > 0,
    },
    demoArgs,
    runs: results,
  };
  await writeFile(join(root, 'docs', 'bench', 'demo.json'), `${JSON.stringify(comparison, null, 2)}\n`);
  await writeSummary();
  process.stdout.write('wrote docs/bench/demo.json and docs/benchmarks.md\n');
}

await main();
