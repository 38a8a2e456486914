/**
 * Renders docs/benchmarks.md from the raw results in docs/bench/: the engine comparison (`npm run bench`,
 * engines.json), the tutorial flow (`npm run bench:tutorial`, tutorial.json), the demo before and after ONNX Runtime
 * (`npm run bench:demo`, demo.json), and the older tfjs-only reports (speed.json, data.md). Each part appears when
 * its file exists, so every benchmark script can call {@link writeSummary} after writing its own JSON.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoComparison } from './demo-compare';
import type { BaseResult, VariantId, VariantResult } from './engines';
import type { MachinePeak } from './machine';
import { speedHeadlines, type SpeedResults } from './report';
import type { EngineResults } from './run';
import type { Stat } from './support';
import type { TutorialResults } from './tutorial';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(dirname(here), 'docs');

/** Published multiply-adds per image of the whole network (classifier included), for the cross-check. */
const PUBLISHED: Readonly<Record<string, string>> = {
  VGG16: '15.5 G with the classifier (Simonyan and Zisserman 2015; the classifier adds 0.12 G)',
  InceptionV3: '5.7 G (torchvision model table, 5.71 "GFLOPS" counted as multiply-adds; the paper says about 5 G)',
  ResNet101V2: '7.6 G for ResNet-101 v1 (He et al. 2016, table 1); v2 as Keras builds it strides in the last unit of a stage, which saves some',
  MobileNetV2: '300 M (Sandler et al. 2018, table 4)',
};

const VARIANTS: readonly VariantId[] = ['tfjs-1', 'tfjs-all', 'onnxruntime-1', 'onnxruntime-all', 'keras-1', 'keras-all'];

const med = (s: Stat | undefined): number => s?.median ?? Number.NaN;
/** `12.3 (11.9-12.8)`, two decimals under 10, one above. */
function rate(s: Stat | undefined): string {
  if (s === undefined) return 'n/a';
  const d = s.median < 10 ? 2 : 1;
  return `${s.median.toFixed(d)} (${s.min.toFixed(d)}-${s.max.toFixed(d)})`;
}
const times = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a');

function variant(base: BaseResult, id: VariantId): VariantResult | undefined {
  return base.variants.find((v) => v.id === id);
}

function header(id: VariantId, cores: number): string {
  const [engine, count] = id.split('-') as [string, string];
  const name = engine === 'tfjs' ? 'tfjs wasm fused' : engine === 'onnxruntime' ? 'ONNX Runtime' : 'Keras/TF';
  return `${name}, ${count === 'all' ? `${cores} threads` : '1 thread'}`;
}

function peakLines(peak: MachinePeak): string[] {
  const g = (flops: number): string => `${(flops / 1e9).toFixed(0)} GFLOP/s`;
  const m = peak.measured;
  const assumed = [peak.cores, peak.fmaUnitsPerCore, peak.simdLanes, peak.clockHz].some((f) => f.assumed);
  return [
    `fp32 peak of this machine (${peak.cpu}): **${g(peak.peakFlopsPerSecond)}** = ${peak.cores.value} cores x ${peak.fmaUnitsPerCore.value} FMA units x ${peak.simdLanes.value} lanes x 2 flops per FMA x ${(peak.clockHz.value / 1e9).toFixed(2)} GHz; ${g(peak.peakFlopsPerSecond / peak.cores.value)} per core${assumed ? ' (**some factors assumed**, see below)' : ''}.`,
    '',
    `- cores: ${peak.cores.value}, ${peak.cores.source}.`,
    `- FMA units per core: ${peak.fmaUnitsPerCore.value}, ${peak.fmaUnitsPerCore.source}.`,
    `- SIMD lanes: ${peak.simdLanes.value}, ${peak.simdLanes.source}.`,
    `- clock: ${(peak.clockHz.value / 1e9).toFixed(2)} GHz, ${peak.clockHz.source}` +
      (peak.cpuinfoMHz !== undefined ? `; /proc/cpuinfo says ${peak.cpuinfoMHz.toFixed(0)} MHz, the rate the hypervisor reports, not the running clock.` : '.'),
    ...(m
      ? [
          `- Measured FMA throughput of one core (bench/peak/fma.c, CPU time, so other processes do not lower it): ${g(m.fma512FlopsPerSecond)} with 512-bit vectors, ${g(m.fma256FlopsPerSecond)} with 256-bit, ${g(m.fma128FlopsPerSecond)} with 128-bit (the width of WebAssembly SIMD); with ${m.threads} threads at once, ${m.perThreadFlopsPerSecond.map((f) => g(f)).join(' and ')} each, so the clock holds when every core is busy.`,
        ]
      : []),
  ];
}

function engineSection(r: EngineResults): string[] {
  const peak = r.peak.peakFlopsPerSecond;
  const perCore = peak / r.peak.cores.value;
  const keras = r.bases.some((b) => variant(b, 'keras-1'));
  const ids = VARIANTS.filter((id) => r.bases.some((b) => variant(b, id)));
  const loads = r.bases.map((b) => `${b.model} ${b.load.min.toFixed(1)}-${b.load.max.toFixed(1)}`).join(', ');
  const lines: string[] = [
    '## Frozen-base forward pass: tfjs, ONNX Runtime and Keras/TensorFlow (`npm run bench`)',
    '',
    `Run of ${r.date} (\`${r.command}\`): ${r.machine}. Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    `Load average (1 min) before the run ${r.loadBefore[0]?.toFixed(2)}, after ${r.loadAfter[0]?.toFixed(2)}; at the start of each round: ${loads}. The machine has ${r.cores} cores and is shared with other work: a load average above ${r.cores} means other processes competed for the cores, which lowers the all-cores figures most.`,
    '',
    `Method: random weights (tl-kit's \`applications\` builders with \`includeTop: false\`; \`keras.applications\` with \`weights=None, include_top=False\` on the Keras side), a batch of ${r.batch} random images, global average pooling included as each engine runs it. tfjs and ONNX Runtime run through the runtimes tl-kit's calls use (\`openBaseRuntime\` with the engine and thread count forced): tfjs wasm with the fused executor on the calling thread, and on its worker-thread pool with one thread per core; ONNX Runtime on tl-kit's converted graph (pooling inside the graph) with 1 intra-op thread and with every core. Keras runs \`predict_on_batch\` (the compiled function \`predict\` uses; ${r.bases.some((b) => b.kerasJitCompile) ? 'with' : 'without'} XLA, Keras's default here) in a process whose TensorFlow intra-op and inter-op threads are set to 1 or ${r.cores}; oneDNN is on, TensorFlow's default on x86 Linux. Each figure is the median of ${r.runs} rounds, with (min-max); a round times every variant once, in an order that rotates from round to round, each timed run repeating the batch for at least ${r.minSecondsPerRun} s.`,
    '',
    ...r.skipped.map((s) => `Not measured: ${s}.`),
    ...(r.skipped.length > 0 ? [''] : []),
    '### Images per second',
    '',
    `| base | GFLOP/image | ${ids.map((id) => header(id, r.cores)).join(' | ')} |`,
    `| --- | --- | ${ids.map(() => '---').join(' | ')} |`,
    ...r.bases.map((b) => `| ${b.model} @${b.size} | ${((2 * b.macs) / 1e9).toFixed(2)} | ${ids.map((id) => rate(variant(b, id)?.imagesPerSecond)).join(' | ')} |`),
    '',
    '### Ratios (of the medians)',
    '',
  ];
  if (keras) {
    lines.push(
      `| base | ONNX Runtime / Keras, 1 thread | ONNX Runtime / Keras, ${r.cores} threads | target: >= 1.2x with all cores | same, fastest rounds | ONNX Runtime / tfjs, 1 thread | ONNX Runtime / tfjs, ${r.cores} threads | Keras / tfjs, 1 thread | ${r.cores} threads / 1: tfjs, ONNX Runtime, Keras |`,
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...r.bases.map((b) => {
        const v = (id: VariantId): number => med(variant(b, id)?.imagesPerSecond);
        const best = (id: VariantId): number => variant(b, id)?.imagesPerSecond.max ?? Number.NaN;
        const target = v('onnxruntime-all') / v('keras-all');
        return `| ${b.model} @${b.size} | ${times(v('onnxruntime-1'), v('keras-1'))} | ${times(v('onnxruntime-all'), v('keras-all'))} | ${target >= 1.2 ? '**met**' : '**not met**'} | ${times(best('onnxruntime-all'), best('keras-all'))} | ${times(v('onnxruntime-1'), v('tfjs-1'))} | ${times(v('onnxruntime-all'), v('tfjs-all'))} | ${times(v('keras-1'), v('tfjs-1'))} | ${times(v('tfjs-all'), v('tfjs-1'))}, ${times(v('onnxruntime-all'), v('onnxruntime-1'))}, ${times(v('keras-all'), v('keras-1'))} |`;
      }),
      '',
      `"Fastest rounds" divides the best round of each engine on ${r.cores} threads: on a shared machine, the rounds in which no other process took a core. The verdict uses the medians, as the issue asks. What the ratios mean (both engines near the FMA peak, ONNX Runtime's threads under contention): [speed.md](speed.md#how-fast-against-keras-and-the-machines-peak).`,
    );
  } else {
    lines.push(
      `| base | ONNX Runtime / tfjs, 1 thread | ONNX Runtime / tfjs, ${r.cores} threads | ${r.cores} threads / 1: tfjs, ONNX Runtime |`,
      '| --- | --- | --- | --- |',
      ...r.bases.map((b) => {
        const v = (id: VariantId): number => med(variant(b, id)?.imagesPerSecond);
        return `| ${b.model} @${b.size} | ${times(v('onnxruntime-1'), v('tfjs-1'))} | ${times(v('onnxruntime-all'), v('tfjs-all'))} | ${times(v('tfjs-all'), v('tfjs-1'))}, ${times(v('onnxruntime-all'), v('onnxruntime-1'))} |`;
      }),
    );
  }
  lines.push(
    '',
    '### GFLOP/s and share of the fp32 peak',
    '',
    `GFLOP/s = images/s x FLOPs per image (2 x the multiply-adds of the convolutions and Dense layers, counted below). The share is of the peak of the threads used: one core's ${(perCore / 1e9).toFixed(0)} GFLOP/s for 1 thread, the machine's ${(peak / 1e9).toFixed(0)} GFLOP/s for ${r.cores}.`,
    '',
    `| base | ${ids.map((id) => header(id, r.cores)).join(' | ')} |`,
    `| --- | ${ids.map(() => '---').join(' | ')} |`,
    ...r.bases.map((b) => {
      const cells = ids.map((id) => {
        const v = variant(b, id);
        if (v === undefined) return 'n/a';
        const flops = med(v.imagesPerSecond) * 2 * b.macs;
        const limit = v.threads === 1 ? perCore : peak;
        return `${(flops / 1e9).toFixed(1)} (${((100 * flops) / limit).toFixed(0)}%)`;
      });
      return `| ${b.model} @${b.size} | ${cells.join(' | ')} |`;
    }),
    '',
    `The same per CPU-second: images per second of CPU time the engine's process used (all its threads) x FLOPs per image, against one core's peak. This is what an engine does with each core it gets, whatever else runs on the machine; on a busy machine it is the fairer comparison of the engines' arithmetic, while the wall-clock table above shows what a user waits.`,
    '',
    `| base | ${ids.map((id) => header(id, r.cores)).join(' | ')} |`,
    `| --- | ${ids.map(() => '---').join(' | ')} |`,
    ...r.bases.map((b) => {
      const cells = ids.map((id) => {
        const v = variant(b, id);
        if (v === undefined) return 'n/a';
        const flops = med(v.imagesPerCpuSecond) * 2 * b.macs;
        return `${(flops / 1e9).toFixed(1)} (${((100 * flops) / perCore).toFixed(0)}%)`;
      });
      return `| ${b.model} @${b.size} | ${cells.join(' | ')} |`;
    }),
    '',
    ...peakLines(r.peak),
    '',
    '### FLOPs per image',
    '',
    'Counted by bench/flops.ts over the tfjs model (multiply-adds of every Conv2D, DepthwiseConv2D, SeparableConv2D and Dense call, from the kernel and output shapes; BatchNorm, activations, pooling and additions left out, as in the published figures), and by the same rule over the Keras model in keras_bench.py; TensorFlow\'s profiler count of the traced Keras graph includes the BatchNorm, activation and pooling arithmetic.',
    '',
    '| base | multiply-adds (tfjs model) | same count, Keras model | TF profiler, float ops | published multiply-adds |',
    '| --- | --- | --- | --- | --- |',
    ...r.bases.map(
      (b) =>
        `| ${b.model} @${b.size} | ${(b.macs / 1e9).toFixed(3)} G (${((2 * b.macs) / 1e9).toFixed(2)} GFLOP) | ${b.kerasMacs === undefined ? 'n/a' : `${(b.kerasMacs / 1e9).toFixed(3)} G`} | ${b.tfProfilerFlops == null ? 'n/a' : `${(b.tfProfilerFlops / 1e9).toFixed(2)} G`} | ${PUBLISHED[b.model] ?? ''} |`,
    ),
    '',
    '### Details',
    '',
    `Images per CPU-second (the same runs divided by the CPU time of the process running the engine, all its threads): what each engine costs, much less dependent on other load than wall-clock time. A ${r.cores}-thread figure below the 1-thread one is CPU spent on coordination, or on threads that spin.`,
    '',
    `| base | ${ids.map((id) => header(id, r.cores)).join(' | ')} |`,
    `| --- | ${ids.map(() => '---').join(' | ')} |`,
    ...r.bases.map((b) => `| ${b.model} @${b.size} | ${ids.map((id) => rate(variant(b, id)?.imagesPerCpuSecond)).join(' | ')} |`),
    '',
  );
  if (keras) {
    lines.push(
      `Keras's eager \`model(x, training=False)\` against \`predict_on_batch\` (images/s): ` +
        r.bases
          .map((b) => `${b.model} ${rate(variant(b, 'keras-1')?.eager?.imagesPerSecond)} vs ${rate(variant(b, 'keras-1')?.imagesPerSecond)} on 1 thread, ${rate(variant(b, 'keras-all')?.eager?.imagesPerSecond)} vs ${rate(variant(b, 'keras-all')?.imagesPerSecond)} on ${r.cores}`)
          .join('; ') +
        '.',
      '',
    );
  }
  lines.push(
    '| base | ONNX Runtime vs tfjs, max abs. diff / max abs. | worker pool == 1 thread | conversion + session, s | mean abs. feature (tfjs / Keras) |',
    '| --- | --- | --- | --- | --- |',
    ...r.bases.map(
      (b) =>
        `| ${b.model} @${b.size} | ${b.onnxVsTfjs.toExponential(1)} | ${b.threadsIdentical ? 'identical' : '**differs**'} | ${b.onnxOpenSeconds.toFixed(2)} | ${b.featureMeanAbs.tfjs.toExponential(1)} / ${b.featureMeanAbs.keras === undefined ? 'n/a' : b.featureMeanAbs.keras.toExponential(1)} |`,
    ),
    '',
  );
  return lines;
}

function tutorialSection(t: TutorialResults): string[] {
  const acc = (runs: TutorialResults['tlkit']): Stat => ({
    median: [...runs.map((r) => r.testAccuracy)].sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number,
    min: Math.min(...runs.map((r) => r.testAccuracy)),
    max: Math.max(...runs.map((r) => r.testAccuracy)),
    runs: runs.length,
  });
  const ours = acc(t.tlkit);
  const theirs = acc(t.keras);
  const gap = Math.abs(ours.median - theirs.median);
  const p = t.photos as { perClass?: number; seed?: number; skimage?: string; cropSide?: [number, number] };
  const crop = p.cropSide ? `${Math.round(100 * p.cropSide[0])}% to ${Math.round(100 * p.cropSide[1])}%` : '?';
  return [
    "## The tutorial's flow: tl-kit `fit` from files against Keras `model.fit` on arrays (`npm run bench:tutorial`)",
    '',
    `Run of ${t.date} (\`${t.command}\`): ${t.machine}, ${t.cores} threads on both sides. Versions: ${Object.entries(t.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. Load average (1 min) before ${t.loadBefore[0]?.toFixed(2)}, after ${t.loadAfter[0]?.toFixed(2)}; at the start of each fit in the table below.`,
    '',
    `- Base: nsfwjs's pretrained MobileNetV2 (alpha 1.0) at 224 px, cut at \`out_relu\`, frozen, on both sides. tl-kit loads it with \`loadNsfwBase('mobilenet_v2')\`; the benchmark exports its weights and loads them by layer name into \`keras.applications.MobileNetV2(weights=None, include_top=False)\` (${t.kerasLayersAssigned} layers; Keras's ImageNet weights cannot be had offline). Pooled features of the test images on the two sides differ by ${t.featureParity.toExponential(1)} (max abs. diff / max abs.), so both run the same base on the same pixels (scaled to [0, 1], what the nsfwjs networks were trained on).`,
    `- Head: global average pooling and Dense(${t.labelNames.length}, softmax), Adam ${t.learningRate}, categorical cross-entropy, batch ${t.batchSize}, ${t.epochs} epochs, validation after every epoch, no augmentation, no dropout.`,
    `- Data: ${t.splits.train + t.splits.validation + t.splits.test} photos in ${t.labelNames.length} classes (${t.labelNames.join(', ')}), split by tl-kit's \`DataLoader.fromDirectory\` (seeded, stratified) into ${t.splits.train} / ${t.splits.validation} / ${t.splits.test}; the Keras side loads the same files per split into arrays with Pillow before its fit.`,
    `- Timed: only the fit. tl-kit: \`fit(model, data, { epochs: ${t.epochs} })\` reading the JPEG files (decoding and the frozen base's single pass included), the base run by ${t.tlkitRuntime} (engine 'auto'). Keras: \`model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=${t.epochs}, batch_size=${t.batchSize})\` on the preloaded arrays (compile's default \`jit_compile="auto"\` resolved to ${t.kerasJitCompile === true ? 'XLA' : 'no XLA'}), which runs the frozen base on every image in every epoch, as the tutorial does. A fresh head each round, after one untimed 1-epoch warm-up fit on each side.`,
    '',
    '| | fit seconds, median (min-max) | test accuracy, median (min-max) |',
    '| --- | --- | --- |',
    `| tl-kit | ${rate(t.tlkitSeconds)} | ${rate(ours)} |`,
    `| Keras | ${rate(t.kerasSeconds)} | ${rate(theirs)} |`,
    '',
    `tl-kit is **${t.speedup.toFixed(1)}x** faster (target 30x: ${t.speedup >= 30 ? '**met**' : '**not met**'}); test accuracies differ by ${gap.toFixed(3)} (target within 0.05: ${gap <= 0.05 ? '**met**' : '**not met**'}; one test image is ${(1 / t.splits.test).toFixed(3)}).`,
    '',
    '| round | tl-kit s | Keras s | Keras / tl-kit | tl-kit test accuracy | Keras test accuracy | load at tl-kit / Keras start |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...t.tlkit.map((a, i) => {
      const b = t.keras[i];
      return b === undefined
        ? ''
        : `| ${i + 1} | ${a.seconds.toFixed(2)} | ${b.seconds.toFixed(1)} | ${(b.seconds / a.seconds).toFixed(1)}x | ${a.testAccuracy.toFixed(3)} | ${b.testAccuracy.toFixed(3)} | ${a.load.toFixed(2)} / ${b.load.toFixed(2)} |`;
    }),
    '',
    `The photo set (made offline by bench/make_photos.py, not committed: it is written to .cache/bench-photos): ${p.perClass ?? '?'} images per class, each a seeded (seed ${p.seed ?? '?'}) random square crop of ${crop} of the shorter side of one of scikit-image ${p.skimage ?? ''}'s bundled sample photos (astronaut.png, chelsea.png for the cat, coffee.png, rocket.jpg), mirrored with probability 1/2, resized to 224 px (Lanczos), saved as JPEG quality 90. Limitations: each class is one photo, so telling the classes apart is far easier than with real categories, and test crops overlap training crops of the same photo. The set measures speed, and whether both frameworks learn the same from the same pixels; its accuracies say nothing about generalisation.`,
    '',
  ];
}

/** Median of the values, or NaN for none. */
function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function demoSection(d: DemoComparison): string[] {
  const sides = { before: d.runs.filter((r) => r.side === 'before'), after: d.runs.filter((r) => r.side === 'after') };
  const bases = [...new Set(d.runs.flatMap((r) => r.rows.map((row) => row.base)))];
  const rowsOf = (side: 'before' | 'after', base: string) => sides[side].flatMap((r) => r.rows.filter((row) => row.base === base));
  const loadText = (runs: typeof d.runs) => runs.map((r) => `${r.loadBefore[0]?.toFixed(1)} to ${r.loadAfter[0]?.toFixed(1)}`).join('; ');
  const lines = [
    '## `npm run demo` before and after ONNX Runtime (`npm run bench:demo`)',
    '',
    `Run of ${d.date} (\`${d.command}\`): ${d.machine}. Before: ${d.before.commit} (${d.before.subject}). After: ${d.after.commit}${d.after.dirty ? ' with uncommitted changes under src/ or demo/' : ''}${d.after.lastCodeCommit ? `, whose src/ and demo/ were last changed by ${d.after.lastCodeCommit.split(" ")[0]}` : ` (${d.after.subject})`}. Both run \`npm run demo${d.demoArgs.length > 0 ? ` -- ${d.demoArgs.join(' ')}` : ''}\` with this tree's node_modules, one after the other (${sides.before.length} run${sides.before.length === 1 ? '' : 's'} each, alternating). Fit seconds are the demo's own (\`fit\` only: decoding the training and validation images, the frozen base's pass over them and the head's epochs); medians when there are several runs.`,
    '',
    '| base | fit s before | fit s after | before / after | test accuracy before | after | engine after |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...bases.map((base) => {
      const b = rowsOf('before', base);
      const a = rowsOf('after', base);
      const fb = median(b.map((r) => r.fitSeconds));
      const fa = median(a.map((r) => r.fitSeconds));
      return `| ${base} | ${fb.toFixed(1)} | ${fa.toFixed(1)} | ${times(fb, fa)} | ${b.map((r) => r.accuracyAfter.toFixed(3)).join(', ')} | ${a.map((r) => r.accuracyAfter.toFixed(3)).join(', ')} | ${a[0]?.runtime ?? 'n/a'} |`;
    }),
    '',
    `Load average (1 min) at the start and end of each demo: before ${loadText(sides.before)}; after ${loadText(sides.after)}. Wall time of each demo: before ${sides.before.map((r) => `${r.wallSeconds.toFixed(0)} s`).join(', ')}; after ${sides.after.map((r) => `${r.wallSeconds.toFixed(0)} s`).join(', ')}.`,
    '',
    'Targets (issue 13):',
    '',
  ];
  for (const base of bases) {
    const b = rowsOf('before', base);
    const a = rowsOf('after', base);
    const engine = a[0]?.runtime ?? '';
    const speedup = median(b.map((r) => r.fitSeconds)) / median(a.map((r) => r.fitSeconds));
    const accuracyGap = Math.abs(median(a.map((r) => r.accuracyAfter)) - median(b.map((r) => r.accuracyAfter)));
    if (/^Random/.test(base)) {
      lines.push(`- ${base}: the control, changed on purpose (a real random-weight control), so its accuracy is not compared; fit ${times(median(b.map((r) => r.fitSeconds)), median(a.map((r) => r.fitSeconds)))} faster.`);
    } else if (engine.startsWith('onnxruntime')) {
      lines.push(
        `- ${base}, a layers base: fit ${speedup.toFixed(2)}x faster (target 3x: ${speedup >= 3 ? '**met**' : '**not met**'}); test accuracy changed by ${accuracyGap.toFixed(3)} (target within 0.02: ${accuracyGap <= 0.02 ? '**met**' : '**not met**'}).`,
      );
    } else {
      lines.push(`- ${base}: stays on tfjs (${engine || 'engine not printed'}); test accuracy changed by ${accuracyGap.toFixed(3)} (target within 0.02: ${accuracyGap <= 0.02 ? '**met**' : '**not met**'}).`);
    }
  }
  lines.push('', 'Why the fit times move as they do: [demo.md](demo.md#before-and-after-onnx-runtime).', '');
  return lines;
}

async function readJson<T>(name: string): Promise<T | undefined> {
  const path = join(docs, 'bench', name);
  return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as T) : undefined;
}

/** Renders docs/benchmarks.md from whatever results docs/bench/ holds. */
export async function renderSummary(): Promise<string> {
  const engines = await readJson<EngineResults>('engines.json');
  const tutorial = await readJson<TutorialResults>('tutorial.json');
  const demo = await readJson<DemoComparison>('demo.json');
  const speed = await readJson<SpeedResults>('speed.json');
  const lines: string[] = [
    '# Benchmarks',
    '',
    'Every figure here comes from a real run on the machine named with it; rerun them on yours with the commands below. This page is generated by `bench/summary.ts` from the raw results in `docs/bench/` (`npm run bench -- --render-only` renders it again).',
    '',
    '| What | Command | Raw results |',
    '| --- | --- | --- |',
    '| Forward pass of four bases on tfjs, ONNX Runtime and Keras/TensorFlow, 1 thread and all cores, against the fp32 peak | `npm run bench` | [engines.json](bench/engines.json) |',
    '| The tutorial flow: MobileNetV2, ~150 photos in 4 classes, 30 epochs, tl-kit `fit` from files against Keras `model.fit` on arrays | `npm run bench:tutorial` | [tutorial.json](bench/tutorial.json) |',
    '| `npm run demo` before and after ONNX Runtime (per-base fit time and accuracy) | `npm run bench:demo -- --before <commit>` | [demo.json](bench/demo.json) |',
    '| tfjs only: fused executor vs plain layers, worker threads, cached vs naive `fit` (issue 6) | `npm run bench:tfjs` | [speed.md](bench/speed.md), [speed.json](bench/speed.json) |',
    '| Data loading: decode + resize, folder scan, epoch throughput, memory | `npm run bench:data` | [data.md](bench/data.md) |',
    '',
  ];
  if (engines) lines.push(...engineSection(engines));
  if (tutorial) lines.push(...tutorialSection(tutorial));
  if (demo) lines.push(...demoSection(demo));
  if (speed) lines.push(`## tfjs alone (\`npm run bench:tfjs\`, run of ${speed.date})`, '', `Machine: ${speed.machine}. Details in [bench/speed.md](bench/speed.md).`, '', ...speedHeadlines(speed), '');
  if (existsSync(join(docs, 'bench', 'data.md'))) lines.push('## Data loading', '', 'See [bench/data.md](bench/data.md) (`npm run bench:data`).', '');
  return `${lines.join('\n')}\n`;
}

/** Writes docs/benchmarks.md. */
export async function writeSummary(): Promise<void> {
  await writeFile(join(docs, 'benchmarks.md'), await renderSummary());
}
