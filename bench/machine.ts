/**
 * The machine's fp32 peak, factor by factor: peak = cores x FMA units per core x SIMD lanes x 2 flops per FMA x clock.
 *
 * - cores: physical cores, from /proc/cpuinfo's distinct (physical id, core id) pairs (hyper-threads share a core's
 *   FMA units), else Node's count of logical CPUs (then said so);
 * - SIMD lanes: 16 fp32 lanes with `avx512f` in the CPU flags, 8 with `avx2` and `fma`, 4 otherwise;
 * - clock and FMA units: measured by bench/peak/fma.c (compiled here with the system's C compiler into .cache/): a
 *   chain of dependent integer adds gives cycles per CPU-second, and twelve independent FMA chains at the widest
 *   vector width give FMAs per cycle. The vendor's documented FMA pipe count, where the CPU family is known, is shown
 *   beside the measured one. Without a C compiler the clock is /proc/cpuinfo's "cpu MHz" and the FMA units are the
 *   documented count, or 2 when unknown, and the results say that these were assumed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

/** One factor of the peak, with how it was found. */
export interface PeakFactor {
  readonly value: number;
  readonly source: string;
  /** True when the value was assumed rather than read or measured. */
  readonly assumed: boolean;
}

/** The peak and its factors. */
export interface MachinePeak {
  readonly cpu: string;
  readonly cores: PeakFactor;
  readonly fmaUnitsPerCore: PeakFactor;
  readonly simdLanes: PeakFactor;
  readonly clockHz: PeakFactor;
  /** cores x FMA units x lanes x 2 x clock. */
  readonly peakFlopsPerSecond: number;
  /** What fma.c measured, when it ran. */
  readonly measured?: FmaMeasurement;
  /** /proc/cpuinfo's "cpu MHz" (under a hypervisor often the nominal or TSC rate, not the running clock). */
  readonly cpuinfoMHz?: number;
  /** The vendor's documented FMA pipes for this CPU family, when the family is in the table. */
  readonly documentedFmaUnits?: { readonly value: number; readonly note: string };
}

/** What bench/peak/fma.c prints. */
export interface FmaMeasurement {
  readonly clockHz: number;
  readonly fma512FlopsPerSecond: number;
  readonly fma256FlopsPerSecond: number;
  readonly fma128FlopsPerSecond: number;
  readonly threads: number;
  readonly widest: number;
  readonly perThreadFlopsPerSecond: readonly number[];
}

interface CpuInfo {
  readonly model: string;
  readonly vendor: string;
  readonly family: number | undefined;
  readonly flags: ReadonlySet<string>;
  readonly physicalCores: number | undefined;
  readonly mhz: number | undefined;
}

function readCpuInfo(): CpuInfo {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: only Node's view is left.
  }
  const blocks = text.split(/\n\s*\n/).filter((b) => b.includes('processor'));
  const field = (block: string, name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim();
  const first = blocks[0] ?? '';
  const coreIds = new Set(blocks.map((b) => `${field(b, 'physical id') ?? '?'}:${field(b, 'core id') ?? '?'}`));
  const family = field(first, 'cpu family');
  const mhz = field(first, 'cpu MHz');
  return {
    model: field(first, 'model name') ?? cpus()[0]?.model.trim() ?? 'unknown CPU',
    vendor: field(first, 'vendor_id') ?? 'unknown',
    family: family === undefined ? undefined : Number(family),
    flags: new Set((field(first, 'flags') ?? '').split(/\s+/)),
    physicalCores: blocks.length > 0 && !coreIds.has('?:?') ? coreIds.size : undefined,
    mhz: mhz === undefined ? undefined : Number(mhz),
  };
}

/** Documented fp32 FMA pipes per core at the widest vector width, for the CPU families the benchmarks met. */
function documentedFmaUnits(info: CpuInfo): { value: number; note: string } | undefined {
  if (info.vendor === 'AuthenticAMD' && info.family === 26) {
    return { value: 2, note: 'AMD Zen 5 (family 1Ah): two FMA pipes (FP0, FP1), 512 bits wide on EPYC 9005 and desktop parts' };
  }
  if (info.vendor === 'AuthenticAMD' && info.family === 25) {
    return info.flags.has('avx512f')
      ? { value: 1, note: 'AMD Zen 4 (family 19h): two 256-bit FMA pipes, a 512-bit FMA takes both (one zmm FMA per cycle)' }
      : { value: 2, note: 'AMD Zen 3 (family 19h): two 256-bit FMA pipes' };
  }
  if (info.vendor === 'GenuineIntel' && info.flags.has('avx512f')) {
    // Xeon Scalable parts have one or two 512-bit FMA units depending on the SKU, which a VM's model name often hides.
    return undefined;
  }
  return undefined;
}

/** Compiles bench/peak/fma.c into .cache/ (again when the source is newer) and runs it; undefined without a compiler. */
function measureFma(threads: number): FmaMeasurement | undefined {
  if (process.arch !== 'x64') return undefined;
  const source = join(here, 'peak', 'fma.c');
  const binary = join(root, '.cache', 'bench-fma');
  mkdirSync(dirname(binary), { recursive: true });
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    const cc = process.env['CC'] ?? 'cc';
    const built = spawnSync(cc, ['-O2', '-pthread', '-o', binary, source], { encoding: 'utf8' });
    if (built.status !== 0) {
      process.stderr.write(`peak: could not compile ${source} with ${cc} (${built.error?.message ?? built.stderr.trim()}); clock and FMA units are assumed\n`);
      return undefined;
    }
  }
  const run = spawnSync(binary, [String(threads)], { encoding: 'utf8' });
  if (run.status !== 0) return undefined;
  return JSON.parse(run.stdout) as FmaMeasurement;
}

/** Measures and derives the machine's fp32 peak (takes about 5 s: the FMA loops run on every core at the end). */
export function machinePeak(): MachinePeak {
  const info = readCpuInfo();
  const cores: PeakFactor =
    info.physicalCores !== undefined
      ? { value: info.physicalCores, source: "/proc/cpuinfo: distinct (physical id, core id) pairs", assumed: false }
      : { value: cpus().length, source: "Node's os.cpus() (logical CPUs: hyper-threads would be counted as cores)", assumed: true };
  const lanes: PeakFactor = info.flags.has('avx512f')
    ? { value: 16, source: "'avx512f' in /proc/cpuinfo flags: 512-bit vectors, 16 fp32 lanes", assumed: false }
    : info.flags.has('avx2') && info.flags.has('fma')
      ? { value: 8, source: "'avx2' and 'fma' in /proc/cpuinfo flags: 256-bit vectors, 8 fp32 lanes", assumed: false }
      : { value: 4, source: 'no avx2/avx512f flag found: 128-bit vectors, 4 fp32 lanes assumed', assumed: true };
  const measured = measureFma(cores.value);
  const documented = documentedFmaUnits(info);
  let clock: PeakFactor;
  let units: PeakFactor;
  if (measured !== undefined) {
    const widest = lanes.value === 16 ? measured.fma512FlopsPerSecond : measured.fma256FlopsPerSecond;
    const perCycle = widest / measured.clockHz / (2 * lanes.value);
    clock = {
      value: measured.clockHz,
      source: 'measured: dependent integer adds (one per cycle) per CPU-second, bench/peak/fma.c, best of 5',
      assumed: false,
    };
    units = {
      value: Math.round(perCycle),
      source:
        `measured: ${perCycle.toFixed(2)} ${lanes.value * 32}-bit FMA instructions per cycle on one core (12 independent chains, bench/peak/fma.c)` +
        (documented ? `; documented: ${documented.value} (${documented.note})` : ''),
      assumed: false,
    };
  } else {
    clock = info.mhz !== undefined
      ? { value: info.mhz * 1e6, source: "/proc/cpuinfo 'cpu MHz' (not measured: no C compiler; may be the nominal rate, not the running clock)", assumed: true }
      : { value: (cpus()[0]?.speed ?? 0) * 1e6, source: "Node's os.cpus() speed (not measured)", assumed: true };
    units = documented
      ? { value: documented.value, source: `documented (not measured): ${documented.note}`, assumed: true }
      : { value: 2, source: 'assumed: 2 FMA units per core (not measured, family not in the table)', assumed: true };
  }
  return {
    cpu: `${info.model} (${info.vendor}, family ${info.family ?? '?'})`,
    cores,
    fmaUnitsPerCore: units,
    simdLanes: lanes,
    clockHz: clock,
    peakFlopsPerSecond: cores.value * units.value * lanes.value * 2 * clock.value,
    ...(measured ? { measured } : {}),
    ...(info.mhz !== undefined ? { cpuinfoMHz: info.mhz } : {}),
    ...(documented ? { documentedFmaUnits: documented } : {}),
  };
}

/** One line describing the machine. */
export function machineLine(): string {
  const list = cpus();
  return `${list.length} logical CPUs (${list[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${platform()} ${release()}`;
}
