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
 * black (each colour multiplied by alpha / 255, rounded), as the sharp path does.
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
      r = Math.round((r * a) / 255);
      g = Math.round((g * a) / 255);
      b = Math.round((b * a) / 255);
    }
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return { data: out, width, height };
}

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
