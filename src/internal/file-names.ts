/**
 * File names as the folder scan sees them: the real bytes of each name (so that names that are not valid UTF-8 still
 * open), a printable and unambiguous text for ids and messages, and the names that archives and operating systems
 * leave behind, which are no data.
 *
 * @module
 */

/**
 * Entries that are metadata of an archive or an operating system, never images of a class, compared case-insensitively:
 * macOS zip folders (`__MACOSX`, holding `._*` AppleDouble files) and icon files (`Icon\r`), Windows thumbnail caches,
 * folder settings and system folders, and Synology's thumbnail folders (`@eaDir`, full of real JPEG thumbnails).
 * Names starting with `.` (`.DS_Store`, `._photo.jpg`, `.git`) are ignored as hidden files.
 */
export const IGNORED_NAMES: readonly string[] = [
  '__macosx',
  'thumbs.db',
  'ehthumbs.db',
  'ehthumbs_vista.db',
  'desktop.ini',
  '$recycle.bin',
  'system volume information',
  '@eadir',
  'icon\r',
];

/**
 * True for an entry the scan skips without a trace: hidden names and archive or OS metadata. `name` is the raw name
 * (e.g. its bytes read as latin1: every listed name is ASCII).
 */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || IGNORED_NAMES.includes(name.toLowerCase());
}

const hex = (byte: number): string => `\\x${byte.toString(16).padStart(2, '0')}`;

/**
 * The printable text of a file name given as bytes. Valid UTF-8 reads as itself, except that:
 * - each byte that is not part of a valid UTF-8 sequence is written `\xNN` (two lowercase hex digits);
 * - control characters (U+0000-U+001F, U+007F) are written `\xNN` as well, so ids stay on one line;
 * - a backslash is written `\\`, so that `\x` always starts an escaped byte.
 *
 * Different names always give different texts, and the text of a valid, printable name without backslashes is the
 * name itself.
 */
export function displayName(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      out += b < 0x20 || b === 0x7f ? hex(b) : b === 0x5c ? '\\\\' : String.fromCharCode(b);
      i++;
      continue;
    }
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const codePoint = length === 0 ? -1 : decodeSequence(bytes, i, length);
    if (codePoint < 0) {
      out += hex(b);
      i++;
    } else {
      out += String.fromCodePoint(codePoint);
      i += length;
    }
  }
  return out;
}

/** The code point of the `length`-byte UTF-8 sequence at `at`, or -1 when it is not a valid, shortest encoding. */
function decodeSequence(bytes: Uint8Array, at: number, length: number): number {
  if (at + length > bytes.length) return -1;
  const lead = bytes[at] as number;
  let cp = lead & (length === 2 ? 0x1f : length === 3 ? 0x0f : 0x07);
  for (let k = 1; k < length; k++) {
    const c = bytes[at + k] as number;
    if ((c & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (c & 0x3f);
  }
  const min = length === 2 ? 0x80 : length === 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  return cp;
}
