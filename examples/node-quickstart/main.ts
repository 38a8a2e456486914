/**
 * tl-kit quickstart: a folder of images (one sub-folder per class) -> a frozen pretrained base under a new head ->
 * accuracy before training -> fit -> accuracy on the test split.
 *
 *   npm start -- path/to/photos      your own images
 *   npm start                        a small generated set, so the example runs offline with no files
 */
import * as tf from '@tensorflow/tfjs-core';
// Pick the backend explicitly: wasm is the fastest backend that installs without native code (no tfjs-node).
import '@tensorflow/tfjs-backend-wasm';
import { DataLoader, Wrapper, evaluateBaseline, fit, evaluate, type Sample } from 'tl-kit';
import { loadNsfwBase } from 'tl-kit/nsfwjs';

await tf.setBackend('wasm');
const base = await loadNsfwBase('mobilenet_v2'); // pretrained MobileNetV2, shipped by npm, no network
const folder = process.argv[2]; // one sub-folder per class, e.g. PetImages/Cat, PetImages/Dog
const options = { imageSize: 160, splitWeights: [8, 1, 1], seed: 42, preprocessing: base.preprocessing } as const;
const data = folder
  ? await DataLoader.fromDirectory(folder, options)
  : await DataLoader.fromSamples(generatedSamples(), options);
console.log(`classes ${data.labelNames.join(', ')}; examples ${JSON.stringify(data.numExamples)}`);
const model = Wrapper(base, { numClasses: data.labelNames.length, inputShape: [160, 160, 3] });
console.log('before', await evaluateBaseline(model, data)); // { loss, accuracy } near chance
await fit(model, data, { epochs: 10, verbose: 1 }); // progress bar on stderr
const after = await evaluate(model, data); // loss, accuracy, macro and per-class precision/recall/F1, confusion matrix
const r = (v: number | undefined): number | undefined => (v === undefined ? undefined : Number(v.toFixed(3)));
const { loss, accuracy, macro } = after;
// Macro averages exist for any number of classes; F1 and ROC AUC of the positive class (the second) only for two.
const binary = after.rocAuc === undefined ? {} : { [`f1 (${data.labelNames[1]})`]: r(after.f1), rocAuc: r(after.rocAuc) };
console.log('after', {
  loss: r(loss),
  accuracy: r(accuracy),
  macroPrecision: r(macro.precision),
  macroRecall: r(macro.recall),
  macroF1: r(macro.f1),
  ...binary,
});

model.dispose();
if ('dispose' in base.model) base.model.dispose();
data.dispose();

/** Two classes of generated 64x64 images (bright discs vs dark squares on noise), as raw RGB pixels. */
function generatedSamples(): Sample[] {
  let seed = 1;
  const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const samples: Sample[] = [];
  for (let i = 0; i < 80; i++) {
    const label = i % 2;
    const size = 64;
    const data = new Uint8Array(size * size * 3);
    const cx = 16 + random() * 32;
    const cy = 16 + random() * 32;
    const r = 8 + random() * 10;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = label === 0 ? (x - cx) ** 2 + (y - cy) ** 2 < r * r : Math.abs(x - cx) < r && Math.abs(y - cy) < r;
        const value = inside ? (label === 0 ? 230 : 30) : 128 + (random() - 0.5) * 80;
        data.fill(Math.round(value), (y * size + x) * 3, (y * size + x) * 3 + 3);
      }
    }
    samples.push({ source: { data, width: size, height: size, channels: 3 }, label: label === 0 ? 'disc' : 'square' });
  }
  return samples;
}
