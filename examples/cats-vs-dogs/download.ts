/**
 * A resumable HTTP download for large archives: bytes go to `<dest>.part`, an interrupted transfer continues with an
 * HTTP `Range` request, and the file is renamed to `dest` only after its size (and SHA-256, when known) check out, so
 * a half-downloaded archive is never mistaken for a complete one.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  /** Size of the complete file in bytes; checked before the file is accepted. */
  readonly expectedSize?: number;
  /** Lower-case hex SHA-256 of the complete file; checked before the file is accepted. */
  readonly sha256?: string;
  /** How many times a dropped connection is resumed before giving up. @defaultValue 5 */
  readonly retries?: number;
  /** Called as bytes arrive, with the bytes on disk and the total when the server told it. */
  readonly onProgress?: (received: number, total: number | undefined) => void;
  /** Called when a transfer is resumed from `offset` (for logs). */
  readonly onResume?: (offset: number) => void;
}

/** What {@link downloadFile} did. */
export interface DownloadResult {
  /** The complete file. */
  readonly path: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /** Its SHA-256, lower-case hex (print it, then pin it with `sha256` next time). */
  readonly sha256: string;
  /** True when `dest` already existed and passed the checks: nothing was downloaded. */
  readonly cached: boolean;
}

/** A download that cannot complete: no network, a bad HTTP status, a size or checksum mismatch, or retries used up. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  /**
   * True when no request got an answer at all (host not found, connection refused, network unreachable): what an
   * offline machine sees. The caller can then suggest a local copy instead of a retry.
   */
  readonly unreachable: boolean;

  constructor(message: string, options?: { cause?: unknown; unreachable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.unreachable = options?.unreachable ?? false;
  }
}

/** System error codes (from the cause chain of the error `fetch` throws) that mean the host was never reached. */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ENOTFOUND: 'host not found (no network, or no DNS)',
  EAI_AGAIN: 'host not found (no network, or no DNS)',
  EAI_NONAME: 'host not found',
  EAI_NODATA: 'host not found',
  ECONNREFUSED: 'connection refused',
  ENETUNREACH: 'network unreachable (no network)',
  EHOSTUNREACH: 'host unreachable (no network)',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** Codes of a connection that was made and then lost: worth a resume, not a sign of a missing network. */
const DROPPED: Readonly<Record<string, string>> = {
  UND_ERR_SOCKET: 'connection dropped',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection dropped',
};

/** The first system error code in an error's cause chain (Node's fetch wraps it: TypeError -> cause -> code). */
function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (e as { errors?: unknown[] }).errors; // AggregateError of several addresses
    if (Array.isArray(inner) && inner.length > 0) return errorCode(inner[0]);
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Says why a request failed before any answer: `host not found (no network, or no DNS): download.microsoft.com
 * [ENOTFOUND]`, or the error's own message when its code is not one of a missing network.
 */
export function describeNetworkError(error: unknown, url: string): { text: string; unreachable: boolean } {
  const code = errorCode(error);
  const why = code === undefined ? undefined : UNREACHABLE[code];
  if (why !== undefined) return { text: `${why}: ${new URL(url).host} [${code}]`, unreachable: true };
  const dropped = code === undefined ? undefined : DROPPED[code];
  if (dropped !== undefined) return { text: `${dropped} [${code}]`, unreachable: false };
  const message = error instanceof Error ? error.message : String(error);
  return { text: code === undefined ? message : `${message} [${code}]`, unreachable: false };
}

/**
 * Downloads `url` to `dest`, resuming interrupted transfers.
 *
 * @param url http(s) URL of the file
 * @param dest where the complete file goes
 * @param options size and checksum to verify, retries, progress
 * @returns the file, its size and SHA-256
 * @throws {DownloadError} on an HTTP error status, a size or checksum mismatch, or when retries run out
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const retries = options.retries ?? 5;
  const { expectedSize, sha256: expectedSha } = options;

  if ((await fileSize(dest)) !== undefined) {
    const checked = await verify(dest, expectedSize, expectedSha);
    return { path: dest, ...checked, cached: true };
  }
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;

  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    let have = (await fileSize(part)) ?? 0;
    if (expectedSize !== undefined && have > expectedSize) {
      await rm(part, { force: true });
      have = 0;
    }
    if (expectedSize !== undefined && have === expectedSize) break;
    if (have > 0) options.onResume?.(have);

    let response: Response;
    try {
      response = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow' });
    } catch (error) {
      lastError = error;
      continue;
    }
    if (response.status === 416 && have > 0) {
      // Nothing left to send: the part file already holds the whole resource.
      await response.body?.cancel();
      break;
    }
    let append = false;
    let total: number | undefined;
    if (response.status === 206 && have > 0) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== have) {
        // A range we did not ask for: start over rather than splice mismatched bytes.
        await response.body?.cancel();
        await rm(part, { force: true });
        lastError = new DownloadError(`${url}: server answered a different range than bytes=${have}-`);
        continue;
      }
      append = true;
      total = range[3] === '*' ? undefined : Number(range[3]);
    } else if (response.status === 200) {
      // The server ignores Range (or this is the first request): write from the start.
      const length = response.headers.get('content-length');
      total = length === null ? undefined : Number(length);
      have = 0;
    } else {
      await response.body?.cancel();
      throw new DownloadError(`${url}: HTTP ${response.status} ${response.statusText}`);
    }
    if (expectedSize !== undefined && total !== undefined && total !== expectedSize) {
      await response.body?.cancel();
      throw new DownloadError(`${url}: server reports ${total} bytes, expected ${expectedSize}`);
    }
    if (!response.body) throw new DownloadError(`${url}: empty response body`);

    // Each chunk is on disk before the next is read, so a dropped connection loses nothing that arrived.
    let received = have;
    const file = await open(part, append ? 'a' : 'w');
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await file.write(value);
        received += value.byteLength;
        options.onProgress?.(received, total);
      }
    } catch (error) {
      // The connection dropped: what arrived is on disk, the next attempt asks for the rest.
      lastError = error;
      continue;
    } finally {
      await file.close();
    }
    if (total === undefined || received >= total) break;
    lastError = new DownloadError(`${url}: connection closed after ${received} of ${total} bytes`);
  }

  const size = (await fileSize(part)) ?? 0;
  const target = expectedSize;
  if (target !== undefined ? size !== target : size === 0) {
    const network = lastError === undefined || lastError instanceof DownloadError ? undefined : describeNetworkError(lastError, url);
    const got = `${size} bytes${target === undefined ? '' : ` of ${target}`}`;
    if (network?.unreachable && size === 0) {
      throw new DownloadError(`${url}: ${network.text}; no answer in ${retries + 1} attempts`, { cause: lastError, unreachable: true });
    }
    throw new DownloadError(
      `${url}: incomplete after ${retries + 1} attempts (${got})${network ? `; last error: ${network.text}` : ''}`,
      { cause: lastError, unreachable: network?.unreachable ?? false },
    );
  }
  let checked: { bytes: number; sha256: string };
  try {
    checked = await verify(part, expectedSize, expectedSha);
  } catch (error) {
    // Bytes that fail the checksum are useless for resuming too.
    await rm(part, { force: true });
    throw error;
  }
  await rename(part, dest);
  return { path: dest, ...checked, cached: false };
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function verify(
  path: string,
  expectedSize: number | undefined,
  expectedSha: string | undefined,
): Promise<{ bytes: number; sha256: string }> {
  const bytes = (await fileSize(path)) ?? 0;
  if (expectedSize !== undefined && bytes !== expectedSize) {
    throw new DownloadError(`${path}: ${bytes} bytes, expected ${expectedSize}`);
  }
  const sha256 = await sha256File(path);
  if (expectedSha !== undefined && sha256 !== expectedSha.toLowerCase()) {
    throw new DownloadError(`${path}: SHA-256 ${sha256}, expected ${expectedSha}`);
  }
  return { bytes, sha256 };
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}
