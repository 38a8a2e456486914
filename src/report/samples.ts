/**
 * The report's image parts: a grid of samples with their true (and, when given, predicted) labels, and a strip of
 * the misclassified ones. Thumbnails are PNG data URLs, so the page stays one self-contained file.
 */
import * as tf from '@tensorflow/tfjs-core';
import { shuffled } from '../internal/rng';
import { escapeXml } from './html';
import { encodePng } from './png';

/**
 * An image to show in the report; `DataLoader.getRandomRawImages` returns these (without predictions).
 *
 * @category reports
 */
export interface ReportSample {
  /** RGB pixels `[height, width, 3]` (or one channel), 0..255 (stays the caller's). */
  readonly image: tf.Tensor3D;
  /** True class name, shown under the image. */
  readonly labelName: string;
  /** Where it came from (file name), shown as a tooltip. */
  readonly id?: string;
  /**
   * Class the model predicted. When it differs from `labelName` the image is marked and also listed in the report's
   * "Misclassified" strip.
   */
  readonly predictedLabelName?: string;
  /** Probability the model gave `predictedLabelName`, in [0, 1]. */
  readonly probability?: number;
}

/** How many images the grid shows (4 rows of 5) and the misclassified strip at most. */
export const GRID_SIZE = 20;
export const STRIP_SIZE = 10;

/** Downscales to `max` on the longest side and reads 8-bit RGB. */
async function thumbnail(image: tf.Tensor3D, max: number): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const [h, w] = image.shape;
  const scale = Math.min(1, max / Math.max(h, w));
  const th = Math.max(1, Math.round(h * scale));
  const tw = Math.max(1, Math.round(w * scale));
  const t = tf.tidy(() => {
    const f = tf.cast(image, 'float32');
    const rgb = image.shape[2] === 1 ? tf.tile(f, [1, 1, 3]) : tf.slice(f, [0, 0, 0], [-1, -1, 3]);
    const resized = scale < 1 ? tf.image.resizeBilinear(rgb as tf.Tensor3D, [th, tw], true) : rgb;
    return tf.cast(tf.clipByValue(tf.round(resized), 0, 255), 'int32');
  });
  try {
    const data = await t.data();
    return { rgb: Uint8Array.from(data), width: tw, height: th };
  } finally {
    t.dispose();
  }
}

const isWrong = (s: ReportSample): boolean => s.predictedLabelName !== undefined && s.predictedLabelName !== s.labelName;

/** Renders figures, encoding each image once even when it appears in both the grid and the strip. */
class FigureRenderer {
  readonly #cache = new Map<ReportSample, { src: string; width: number; height: number }>();

  constructor(private readonly max: number) {}

  async #image(s: ReportSample): Promise<{ src: string; width: number; height: number }> {
    let encoded = this.#cache.get(s);
    if (encoded === undefined) {
      const thumb = await thumbnail(s.image, this.max);
      const png = await encodePng(thumb.rgb, thumb.width, thumb.height);
      encoded = { src: `data:image/png;base64,${Buffer.from(png).toString('base64')}`, width: thumb.width, height: thumb.height };
      this.#cache.set(s, encoded);
    }
    return encoded;
  }

  async figure(s: ReportSample): Promise<string> {
    const [h, w] = s.image.shape;
    const { src, width, height } = await this.#image(s);
    const tip = s.id ? ` title="${escapeXml(s.id)}"` : '';
    const wrong = isWrong(s);
    const prediction =
      s.predictedLabelName === undefined
        ? ''
        : `<div class="prediction ${wrong ? 'wrong' : 'right'}">${wrong ? '✗' : '✓'} predicted ${escapeXml(s.predictedLabelName)}` +
          `${s.probability === undefined ? '' : ` <span>${(s.probability * 100).toFixed(0)}%</span>`}</div>`;
    return (
      `<figure${tip}${wrong ? ' class="wrong"' : ''}><div class="frame">` +
      `<img src="${src}" width="${width}" height="${height}" alt="${escapeXml(s.labelName)}"/></div>` +
      `<figcaption><div class="truth"><strong>${escapeXml(s.labelName)}</strong><span>${w} × ${h}</span></div>${prediction}</figcaption></figure>`
    );
  }
}

/** The grid of up to {@link GRID_SIZE} samples chosen with `seed`, and the misclassified strip when predictions exist. */
export async function sampleSections(
  samples: readonly ReportSample[],
  seed: number,
  max: number,
  predictedBy: string | undefined,
): Promise<{ title: string; html: string }[]> {
  const render = new FigureRenderer(max);
  const chosen = shuffled(samples, seed).slice(0, GRID_SIZE);
  const withPredictions = samples.filter((s) => s.predictedLabelName !== undefined);
  const by = predictedBy ? ` by ${escapeXml(predictedBy)}` : '';
  const grid: string[] = [];
  for (const s of chosen) grid.push(await render.figure(s));
  const note =
    withPredictions.length > 0
      ? `<p class="note">${chosen.length} of ${samples.length} images: true class in bold, the class predicted${by} below it.</p>`
      : `<p class="note">${chosen.length} of ${samples.length} images with their class.</p>`;
  const sections = [{ title: withPredictions.length > 0 ? 'Samples and predictions' : 'Sample images', html: `${note}<div class="grid">${grid.join('\n')}</div>` }];
  if (withPredictions.length > 0) {
    // Most confident mistakes first: those say most about what the model learned.
    const wrong = withPredictions.filter(isWrong).sort((a, b) => (b.probability ?? 0) - (a.probability ?? 0));
    const shown: string[] = [];
    for (const s of wrong.slice(0, STRIP_SIZE)) shown.push(await render.figure(s));
    const summary =
      wrong.length === 0
        ? `<p class="note">None of the ${withPredictions.length} images with a prediction is misclassified.</p>`
        : `<p class="note">${wrong.length} of ${withPredictions.length} images misclassified${by}` +
          `${wrong.length > STRIP_SIZE ? `; the ${STRIP_SIZE} most confident mistakes` : ''}, most confident first.</p>`;
    sections.push({ title: 'Misclassified', html: `${summary}<div class="strip">${shown.join('\n')}</div>` });
  }
  return sections;
}
