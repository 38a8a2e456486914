/**
 * The internal failure of one decode: `message` is the reason alone ("empty file (0 bytes)"), which the loader
 * stores in `skipped` and the public {@link decodeImage} wraps into a {@link DecodeError} naming the call.
 *
 * @module
 */

/** A decode failure with a short human reason; `cause` keeps the decoder's or file system's error. */
export class DecodeFailure extends Error {
  constructor(reason: string, cause?: unknown) {
    super(reason, cause === undefined ? undefined : { cause });
    this.name = 'DecodeFailure';
  }
}

/** The message of an unknown thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A decoder's message as one short line for `skipped` and error messages: libvips reports one problem over several
 * repeated lines, and some of its messages end in a colon with nothing after it. Lines are trimmed, repeats dropped,
 * joined with `; `, and cut at 300 characters.
 */
export function decoderReason(err: unknown): string {
  const lines = errorMessage(err)
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/:$/, ''))
    .filter((line) => line.length > 0);
  const unique = [...new Set(lines)];
  const text = unique.length > 0 ? unique.join('; ') : 'no detail from the decoder';
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** The reason for an image whose declared size is over `maxPixels` (width and height when known). */
export function overPixelLimit(maxPixels: number, width?: number, height?: number): string {
  const size = width === undefined || height === undefined ? 'more pixels' : `${width} x ${height} = ${width * height} pixels`;
  return `image has ${size}, more than maxPixels (${maxPixels}); raise maxPixels to load it`;
}

/** A file, download or Blob over `maxFileBytes` (its size when known before reading). */
export function overFileLimit(maxFileBytes: number, size?: number): DecodeFailure {
  const what = size === undefined ? `more than ${maxFileBytes} bytes` : `${size} > ${maxFileBytes} bytes`;
  return new DecodeFailure(`file is larger than maxFileBytes (${what}); raise maxFileBytes to read it`);
}
