/**
 * Decoded images as plain bytes (8-bit RGB, row-major), the format every decoder produces and the batch assembler
 * consumes. Keeping decoded images out of tfjs until a batch is built keeps prefetching free of tensor bookkeeping.
 *
 * @module
 */

/** 8-bit RGB pixels, `height * width * 3` bytes. */
export interface RgbPixels {
  /** Row-major RGB bytes. */
  readonly data: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/**
 * Converts 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channel 8-bit pixels to RGB. Alpha is flattened onto
 * black (each colour multiplied by alpha / 255, rounded down), exactly as the sharp path does.
 */
export function toRgb(data: ArrayLike<number>, width: number, height: number, channels: number): RgbPixels {
  const n = width * height;
  if (channels === 3 && data instanceof Uint8Array) return { data, width, height };
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    let r: number;
    let g: number;
    let b: number;
    let a = 255;
    if (channels === 1 || channels === 2) {
      r = g = b = data[i * channels] as number;
      if (channels === 2) a = data[i * 2 + 1] as number;
    } else {
      r = data[i * channels] as number;
      g = data[i * channels + 1] as number;
      b = data[i * channels + 2] as number;
      if (channels === 4) a = data[i * 4 + 3] as number;
    }
    if (a !== 255) {
      // Truncated, as libvips's flatten does: both decoders give the same bytes.
      r = Math.floor((r * a) / 255);
      g = Math.floor((g * a) / 255);
      b = Math.floor((b * a) / 255);
    }
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return { data: out, width, height };
}

/** The reason given for content that is no image format tl-kit knows. */
export const NOT_AN_IMAGE = 'not a supported image (content is not JPEG, PNG, WebP, GIF, TIFF or HEIF)';

/** Names the container format from the first bytes, or undefined when it is not an image format tl-kit knows. */
export function sniffFormat(bytes: Uint8Array): string | undefined {
  const b = (i: number): number => bytes[i] ?? -1;
  const ascii = (from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (b(0) === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 2) === 'BM') return 'bmp';
  if ((b(0) === 0x49 && b(1) === 0x49 && b(2) === 0x2a && b(3) === 0) || (b(0) === 0x4d && b(1) === 0x4d && b(2) === 0 && b(3) === 0x2a)) {
    return 'tiff';
  }
  if (ascii(4, 8) === 'ftyp') return 'heif';
  return undefined;
}

/**
 * Turns RGB pixels upright according to an EXIF orientation (1-8), as sharp's `autoOrient` does: 2 mirrors, 3
 * rotates by 180 degrees, 4 flips, 5 transposes, 6 rotates 90 degrees clockwise, 7 transverses, 8 rotates 90 degrees
 * counter-clockwise. Orientations 5-8 swap width and height. 1 (or any other value) returns the pixels as they are.
 */
export function applyOrientation(pixels: RgbPixels, orientation: number): RgbPixels {
  if (orientation < 2 || orientation > 8 || !Number.isInteger(orientation)) return pixels;
  const { data, width: w, height: h } = pixels;
  const swap = orientation >= 5;
  const outW = swap ? h : w;
  const outH = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let dx: number;
      let dy: number;
      switch (orientation) {
        case 2: dx = w - 1 - x; dy = y; break;
        case 3: dx = w - 1 - x; dy = h - 1 - y; break;
        case 4: dx = x; dy = h - 1 - y; break;
        case 5: dx = y; dy = x; break;
        case 6: dx = h - 1 - y; dy = x; break;
        case 7: dx = h - 1 - y; dy = w - 1 - x; break;
        default: dx = y; dy = w - 1 - x; break; // 8
      }
      const from = (y * w + x) * 3;
      const to = (dy * outW + dx) * 3;
      out[to] = data[from] as number;
      out[to + 1] = data[from + 1] as number;
      out[to + 2] = data[from + 2] as number;
    }
  }
  return { data: out, width: outW, height: outH };
}
