/**
 * Embedded RGB colour profiles for the pure-JS decoder. sharp converts an image with an embedded ICC profile to sRGB;
 * jpeg-js and pngjs return the stored values, which for a Display P3 phone photo differ by up to 70 levels in
 * saturated colours. This module reads the common kind of RGB profile, a matrix/TRC ("matrix-shaper") profile (sRGB,
 * Display P3, Adobe RGB, ProPhoto and most camera profiles), and converts pixels to sRGB the way a colour management
 * engine does for them: each channel through its tone curve to linear light, the colorant matrix to XYZ (D50), the
 * inverse sRGB matrix back to linear sRGB, the sRGB curve. Profiles of another kind (lookup tables, CMYK, grey) are
 * left alone.
 *
 * @module
 */
import type { RgbPixels } from './pixels';

/** A parsed matrix/TRC RGB profile: per-channel linearisation tables and the 3 x 3 RGB -> linear sRGB matrix. */
export interface RgbProfile {
  /** 256-entry tables: 8-bit value -> linear light in [0, 1], one per channel. */
  readonly toLinear: readonly [Float64Array, Float64Array, Float64Array];
  /** Row-major 3 x 3 matrix from the profile's linear RGB to linear sRGB. */
  readonly toSrgb: Float64Array;
}

const u16 = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u32 = (b: Uint8Array, i: number): number => u16(b, i) * 65536 + u16(b, i + 2);
const s15f16 = (b: Uint8Array, i: number): number => (u32(b, i) | 0) / 65536;
const tag4 = (b: Uint8Array, i: number): string => String.fromCharCode(...b.subarray(i, i + 4));

/** The sRGB colorants adapted to D50, as the sRGB ICC profile (IEC 61966-2.1) stores them: columns R, G, B. */
const SRGB_D50 = [0.4360747, 0.3850649, 0.1430804, 0.2225045, 0.7168786, 0.0606169, 0.0139322, 0.0971045, 0.7141733];

function invert3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d].map((v) => v / det);
}

function multiply3(x: readonly number[], y: readonly number[]): Float64Array {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += (x[r * 3 + k] as number) * (y[k * 3 + c] as number);
      out[r * 3 + c] = sum;
    }
  }
  return out;
}

/** Reads a 'curv' or 'para' tone curve into a 256-entry 8-bit -> linear table, or undefined. */
function readCurve(b: Uint8Array, at: number, size: number): Float64Array | undefined {
  const type = tag4(b, at);
  const table = new Float64Array(256);
  if (type === 'curv') {
    const n = u32(b, at + 8);
    if (12 + n * 2 > size) return undefined;
    if (n === 0) for (let v = 0; v < 256; v++) table[v] = v / 255;
    else if (n === 1) {
      const gamma = u16(b, at + 12) / 256;
      for (let v = 0; v < 256; v++) table[v] = (v / 255) ** gamma;
    } else {
      for (let v = 0; v < 256; v++) {
        const x = (v / 255) * (n - 1);
        const i = Math.min(n - 2, Math.floor(x));
        const f = x - i;
        table[v] = ((1 - f) * u16(b, at + 12 + i * 2) + f * u16(b, at + 14 + i * 2)) / 65535;
      }
    }
    return table;
  }
  if (type === 'para') {
    const fn = u16(b, at + 8);
    const count = [1, 3, 4, 5, 7][fn];
    if (count === undefined || 12 + count * 4 > size) return undefined;
    const p = Array.from({ length: 7 }, (_, k) => (k < count ? s15f16(b, at + 12 + k * 4) : 0));
    const [g, a, bb, c, d, e, f] = p as [number, number, number, number, number, number, number];
    for (let v = 0; v < 256; v++) {
      const x = v / 255;
      let y: number;
      if (fn === 0) y = x ** g;
      else if (fn === 1) y = x >= -bb / a ? (a * x + bb) ** g : 0;
      else if (fn === 2) y = x >= -bb / a ? (a * x + bb) ** g + c : c;
      else if (fn === 3) y = x >= d ? (a * x + bb) ** g : c * x;
      else y = x >= d ? (a * x + bb) ** g + e : c * x + f;
      table[v] = Math.max(0, Math.min(1, y));
    }
    return table;
  }
  return undefined;
}

/**
 * Parses an ICC profile; returns the conversion for a matrix/TRC RGB profile with an XYZ connection space, undefined
 * for anything else (or a malformed profile).
 */
export function parseRgbProfile(b: Uint8Array): RgbProfile | undefined {
  if (b.length < 132 || tag4(b, 36) !== 'acsp' || tag4(b, 16) !== 'RGB ' || tag4(b, 20) !== 'XYZ ') return undefined;
  const tags = new Map<string, { at: number; size: number }>();
  const count = u32(b, 128);
  for (let k = 0; k < count && 132 + k * 12 + 12 <= b.length; k++) {
    const entry = 132 + k * 12;
    const at = u32(b, entry + 4);
    const size = u32(b, entry + 8);
    if (at + size <= b.length && size >= 12) tags.set(tag4(b, entry), { at, size });
  }
  const colorant = (name: string): number[] | undefined => {
    const t = tags.get(name);
    if (t === undefined || tag4(b, t.at) !== 'XYZ ' || t.size < 20) return undefined;
    return [s15f16(b, t.at + 8), s15f16(b, t.at + 12), s15f16(b, t.at + 16)];
  };
  const r = colorant('rXYZ');
  const g = colorant('gXYZ');
  const bl = colorant('bXYZ');
  const curves = ['rTRC', 'gTRC', 'bTRC'].map((name) => {
    const t = tags.get(name);
    return t === undefined ? undefined : readCurve(b, t.at, t.size);
  });
  if (!r || !g || !bl || curves.some((c) => c === undefined)) return undefined;
  // Profile RGB -> XYZ (D50): columns are the colorants. Then XYZ -> linear sRGB.
  const toXyz = [r[0], g[0], bl[0], r[1], g[1], bl[1], r[2], g[2], bl[2]] as number[];
  const toSrgb = multiply3(invert3(SRGB_D50), toXyz);
  if (!toSrgb.every(Number.isFinite)) return undefined;
  return { toLinear: curves as [Float64Array, Float64Array, Float64Array], toSrgb };
}

/** The ICC profile of a JPEG (APP2 "ICC_PROFILE" segments, joined in order), or undefined. */
export function jpegIccProfile(b: Uint8Array): Uint8Array | undefined {
  const parts: { seq: number; data: Uint8Array }[] = [];
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1] as number;
    if (marker === 0xda || marker === 0xd9) break;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0xff) {
      i += marker === 0xff ? 1 : 2;
      continue;
    }
    const length = u16(b, i + 2);
    if (marker === 0xe2 && length > 16 && String.fromCharCode(...b.subarray(i + 4, i + 16)) === 'ICC_PROFILE\0') {
      parts.push({ seq: b[i + 16] as number, data: b.subarray(i + 18, Math.min(b.length, i + 2 + length)) });
    }
    i += 2 + length;
  }
  if (parts.length === 0) return undefined;
  parts.sort((x, y) => x.seq - y.seq);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

/**
 * The compressed ICC profile of a PNG (the iCCP chunk: a name, a zero byte, the compression method, zlib data), or
 * undefined. The caller inflates it.
 */
export function pngCompressedIccProfile(b: Uint8Array): Uint8Array | undefined {
  let i = 8;
  while (i + 8 <= b.length) {
    const length = u32(b, i);
    const type = tag4(b, i + 4);
    if (type === 'iCCP') {
      const data = b.subarray(i + 8, Math.min(b.length, i + 8 + length));
      const nul = data.indexOf(0);
      return nul < 0 || nul + 2 > data.length ? undefined : data.subarray(nul + 2);
    }
    if (type === 'IDAT' || type === 'IEND') return undefined;
    i += 12 + length;
  }
  return undefined;
}

/** The sRGB curve from linear light to 8 bits, tabulated finely enough to round like a float computation. */
const ENCODE_STEPS = 65536;
let srgbEncode: Uint8Array | undefined;

function encodeTable(): Uint8Array {
  if (srgbEncode === undefined) {
    srgbEncode = new Uint8Array(ENCODE_STEPS + 1);
    for (let k = 0; k <= ENCODE_STEPS; k++) {
      const x = k / ENCODE_STEPS;
      const y = x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
      srgbEncode[k] = Math.round(y * 255);
    }
  }
  return srgbEncode;
}

/** Converts pixels from `profile` to sRGB in place (out-of-gamut colours are clipped); returns `pixels`. */
export function convertToSrgb(pixels: RgbPixels, profile: RgbProfile): RgbPixels {
  const [lr, lg, lb] = profile.toLinear;
  const m = profile.toSrgb;
  const encode = encodeTable();
  const { data } = pixels;
  const clip = (v: number): number => (encode[Math.round(Math.max(0, Math.min(1, v)) * ENCODE_STEPS)] as number);
  for (let p = 0; p < data.length; p += 3) {
    const r = lr[data[p] as number] as number;
    const g = lg[data[p + 1] as number] as number;
    const b = lb[data[p + 2] as number] as number;
    data[p] = clip((m[0] as number) * r + (m[1] as number) * g + (m[2] as number) * b);
    data[p + 1] = clip((m[3] as number) * r + (m[4] as number) * g + (m[5] as number) * b);
    data[p + 2] = clip((m[6] as number) * r + (m[7] as number) * g + (m[8] as number) * b);
  }
  return pixels;
}
