/** Decoder messages become one short line in `skipped`. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/data/decode';
import { decoderReason } from '../../src/data/decode-error';

describe('decoderReason', () => {
  it('joins repeated multi-line decoder messages into one line and never ends on a bare colon', () => {
    const libvips = 'VipsJpeg: Premature end of input file\nVipsJpeg: Premature end of input file\n  VipsJpeg: out of order read at line 12\n';
    expect(decoderReason(new Error(libvips))).toBe('VipsJpeg: Premature end of input file; VipsJpeg: out of order read at line 12');
    expect(decoderReason(new Error('Input buffer has corrupt header:'))).toBe('Input buffer has corrupt header');
    expect(decoderReason(new Error('\n \n'))).toBe('no detail from the decoder');
    expect(decoderReason('x'.repeat(400))).toHaveLength(300);
  });

  it('gives a truncated JPEG a single-line reason on both decoders', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().toBuffer();
    const truncated = new Uint8Array(jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    for (const decoder of ['sharp', 'pure-js'] as const) {
      const err = await decodeImage(truncated, { decoder }).then(
        (t) => {
          t.dispose();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      if (err === undefined) continue; // a decoder may fill the missing rows instead of failing
      expect(err.message, decoder).not.toMatch(/\n|:$/);
    }
  });
});
