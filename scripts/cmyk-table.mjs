#!/usr/bin/env node
/**
 * Regenerates src/data/cmyk-table.ts: the 9 x 9 x 9 table with which the pure-JS decoder turns a CMYK or YCCK JPEG's
 * colours into what sharp gives for the same file.
 *
 * Why a table: jpeg-js only returns CMYK already folded to RGB with the device formula R = (255 - C)(255 - K) / 255,
 * while sharp converts CMYK to sRGB through a colour profile (libvips's default CMYK profile when the file has none),
 * which is lighter and less saturated (a mid-grey comes out (102, 104, 102) from jpeg-js and (116, 115, 114) from
 * sharp). The table maps jpeg-js's RGB to sharp's, measured on a corpus:
 *
 * 1. a 17 x 17 x 17 grid of sRGB colours, each an 8 x 8 block (one JPEG block, no ringing between colours), is
 *    converted to CMYK by sharp and saved as a quality-100, 4:4:4 JPEG;
 * 2. the file is decoded by jpeg-js (device formula) and by sharp (profile), and the block centres are paired;
 * 3. the table is the least-squares fit of trilinear interpolation through those pairs, with a small penalty on
 *    second differences so that cells no sample reaches stay smooth (normal equations, Cholesky, in float64).
 *
 * A separate corpus of 3,000 random colours and 52 greys checks it; the figures are printed and written into the
 * generated file. Run: node scripts/cmyk-table.mjs (needs the dev dependencies sharp and jpeg-js).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import sharp from 'sharp';

const G = 9; // grid points per axis
const SMOOTHNESS = 0.1; // weight of the second-difference penalty (squared in the normal equations)

/** Encodes `colours` as 8 x 8 blocks of one sRGB -> CMYK JPEG and returns [jpeg-js RGB, sharp RGB] per colour. */
async function pairs(colours) {
  const P = 8;
  const cols = 64;
  const rows = Math.ceil(colours.length / cols);
  const W = cols * P;
  const H = rows * P;
  const raw = Buffer.alloc(W * H * 3);
  colours.forEach((c, i) => {
    const bx = (i % cols) * P;
    const by = Math.floor(i / cols) * P;
    for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) raw.set(c, ((by + y) * W + bx + x) * 3);
  });
  const file = await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toBuffer();
  const viaSharp = await sharp(file).toColourspace('srgb').raw().toBuffer();
  const viaJs = jpeg.decode(file, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 2048 }).data;
  return colours.map((_, i) => {
    const at = ((Math.floor(i / cols) * P + 4) * W + (i % cols) * P + 4) * 3;
    return [[...viaJs.subarray(at, at + 3)], [...viaSharp.subarray(at, at + 3)]];
  });
}

/** Trilinear weights of an RGB point on the grid: [[cell index, weight] x 8]. */
function weights(rgb) {
  const t = rgb.map((v) => (v / 255) * (G - 1));
  const i0 = t.map((v) => Math.min(G - 2, Math.floor(v)));
  const f = t.map((v, k) => v - i0[k]);
  const out = [];
  for (let dx = 0; dx < 2; dx++)
    for (let dy = 0; dy < 2; dy++)
      for (let dz = 0; dz < 2; dz++) {
        const w = (dx ? f[0] : 1 - f[0]) * (dy ? f[1] : 1 - f[1]) * (dz ? f[2] : 1 - f[2]);
        out.push([((i0[0] + dx) * G + i0[1] + dy) * G + i0[2] + dz, w]);
      }
  return out;
}

/** Solves the symmetric positive definite system A x = b in place (Cholesky). */
function solve(A, b, n) {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] ** 2;
    d = Math.sqrt(d);
    A[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / d;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= A[i * n + k] * y[k];
    y[i] = s / A[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= A[k * n + i] * x[k];
    x[i] = s / A[i * n + i];
  }
  return x;
}

function fit(train) {
  const n = G ** 3;
  const AtA = new Float64Array(n * n);
  const Atb = [0, 1, 2].map(() => new Float64Array(n));
  for (const [js, target] of train) {
    const w = weights(js);
    for (const [i, wi] of w) {
      for (const [j, wj] of w) AtA[i * n + j] += wi * wj;
      for (let c = 0; c < 3; c++) Atb[c][i] += wi * target[c];
    }
  }
  const id = (x, y, z) => (x * G + y) * G + z;
  for (let axis = 0; axis < 3; axis++)
    for (let a = 0; a < G; a++)
      for (let b = 0; b < G; b++)
        for (let k = 1; k < G - 1; k++) {
          const at = (kk) => (axis === 0 ? id(kk, a, b) : axis === 1 ? id(a, kk, b) : id(a, b, kk));
          const row = [[at(k - 1), 1], [at(k), -2], [at(k + 1), 1]];
          for (const [i, wi] of row) for (const [j, wj] of row) AtA[i * n + j] += SMOOTHNESS ** 2 * wi * wj;
        }
  // Entries are not clipped to 0..255: where sharp clips out-of-gamut colours to 0 or 255, the entries beyond the
  // range are what lets interpolation reach the clipped value at the right place.
  const table = new Int16Array(n * 3);
  for (let c = 0; c < 3; c++) {
    const x = solve(Float64Array.from(AtA), Atb[c], n);
    x.forEach((v, i) => (table[i * 3 + c] = Math.round(v)));
  }
  return table;
}

function apply(table, rgb) {
  const out = [0, 0, 0];
  for (const [i, w] of weights(rgb)) for (let c = 0; c < 3; c++) out[c] += w * table[i * 3 + c];
  return out.map((v) => Math.max(0, Math.min(255, Math.round(v))));
}

const grid = [];
for (let r = 0; r < 17; r++) for (let g = 0; g < 17; g++) for (let b = 0; b < 17; b++) grid.push([r, g, b].map((v) => Math.min(255, v * 16)));
let seed = 1;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const check = Array.from({ length: 3000 }, () => [0, 0, 0].map(() => Math.floor(random() * 256)));
for (let v = 0; v < 256; v += 5) check.push([v, v, v]);

const table = fit(await pairs(grid));
const errors = (await pairs(check)).flatMap(([js, target]) => apply(table, js).map((v, c) => Math.abs(v - target[c])));
errors.sort((a, b) => a - b);
const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
const stats = `max ${errors.at(-1)}, 99th percentile ${errors[Math.floor(errors.length * 0.99)]}, mean ${mean.toFixed(2)}`;
console.log(`table fitted; on ${check.length} check colours: ${stats}`);

const bytes = Buffer.alloc(table.length * 2);
table.forEach((v, i) => bytes.writeInt16LE(v, i * 2));
const base64 = bytes.toString('base64');
const lines = base64.match(/.{1,112}/g).map((l) => `  '${l}'`).join(' +\n');
const out = fileURLToPath(new URL('../src/data/cmyk-table.ts', import.meta.url));
writeFileSync(
  out,
  `/**
 * The colour table of CMYK / YCCK JPEGs for the pure-JS decoder. Generated by scripts/cmyk-table.mjs (read it for
 * how): do not edit. It maps the RGB that jpeg-js gives a CMYK JPEG (the device formula, R = (255 - C)(255 - K) / 255)
 * to the sRGB that sharp gives the same file (through libvips's default CMYK profile), on a ${G} x ${G} x ${G} grid
 * read with trilinear interpolation, then rounded and clipped to 0..255.
 * Measured against sharp on ${check.length} colours that were not fitted: ${stats} levels.
 *
 * @module
 */

/** Grid points per axis. */
export const CMYK_TABLE_SIZE = ${G};

/**
 * The table: ${G} ** 3 RGB entries (red-major, then green, then blue), each value a little-endian int16 (entries may
 * lie outside 0..255 so that interpolation reaches sharp's clipped values), as base64.
 */
export const CMYK_TABLE_BASE64 =
${lines};
`,
);
console.log(`wrote ${out}`);
