/**
 * A small generated image set so the app works without any files: horizontal vs vertical stripes at random
 * frequencies and phases, with colour jitter and noise. Seeded, so every run (and the end-to-end test) sees the
 * same images.
 */

/** Raw RGB pixels, the form tl-kit's `DataLoader.fromSamples` accepts as a source. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
}

/** One generated sample. */
export interface BuiltinSample {
  readonly image: RawImage;
  readonly label: number;
}

/** Class names of the built-in set, by label. */
export const BUILTIN_LABELS = ['horizontal stripes', 'vertical stripes'] as const;

/** A seeded uniform [0, 1) generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Generates `perClass` images of each class, `size` x `size` pixels.
 *
 * @param perClass images per class
 * @param size side in pixels
 * @param seed random seed
 */
export function makeBuiltinSet(perClass: number, size: number, seed = 7): BuiltinSample[] {
  const random = seededRandom(seed);
  const samples: BuiltinSample[] = [];
  for (let i = 0; i < perClass; i++) {
    for (let label = 0; label < BUILTIN_LABELS.length; label++) {
      const data = new Uint8Array(size * size * 3);
      const period = 4 + random() * 10;
      const phase = random() * Math.PI * 2;
      const base = [random(), random(), random()].map((c) => 60 + c * 120);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const t = label === 0 ? y : x;
          const wave = Math.sin((t / period) * Math.PI * 2 + phase);
          for (let c = 0; c < 3; c++) {
            const value = (base[c] ?? 128) + wave * 60 + (random() - 0.5) * 50;
            data[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
          }
        }
      }
      samples.push({ image: { data, width: size, height: size, channels: 3 }, label });
    }
  }
  return samples;
}

/** Draws raw RGB pixels into a new canvas (for thumbnails). */
export function toCanvas(image: RawImage): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d');
  if (context) {
    const rgba = new ImageData(image.width, image.height);
    for (let i = 0; i < image.width * image.height; i++) {
      rgba.data[i * 4] = image.data[i * 3] ?? 0;
      rgba.data[i * 4 + 1] = image.data[i * 3 + 1] ?? 0;
      rgba.data[i * 4 + 2] = image.data[i * 3 + 2] ?? 0;
      rgba.data[i * 4 + 3] = 255;
    }
    context.putImageData(rgba, 0, 0);
  }
  return canvas;
}
