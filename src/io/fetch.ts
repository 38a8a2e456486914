/**
 * One way to GET a file over HTTP for every loader: a timeout on every wait (the response and each gap between body
 * chunks), a byte limit checked against Content-Length and counted while reading, and redirects followed only to
 * allowed origins. Internal.
 */
import { InvalidArgumentError, LoadError, TlKitError, UnsafeModelError } from '../errors';
import { rootReason } from '../internal/cause';
import { isNode } from '../internal/env';
import { concatBytes } from './manifest';

/** Default of the `timeoutMs` download options: how long to wait for a response, and for each chunk of a body. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Most redirects followed for one request (browsers and undici stop at 20). */
const MAX_REDIRECTS = 10;

/** An HTTP error status (4xx, 5xx) answered to a download: a {@link LoadError} that carries the status. */
export class HttpStatusError extends LoadError {
  /**
   * @param url - the URL asked for.
   * @param status - the HTTP status.
   * @param statusText - its reason phrase, if any.
   */
  constructor(
    readonly url: string,
    readonly status: number,
    statusText: string,
  ) {
    super(`cannot download ${url}: HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
  }
}

/** A body over the byte limit of a download: an {@link UnsafeModelError} that carries the declared size, if any. */
export class OverLimitError extends UnsafeModelError {
  /**
   * @param message - what was refused.
   * @param declared - the Content-Length the server declared, when it did.
   */
  constructor(
    message: string,
    readonly declared?: number,
  ) {
    super(message);
  }
}

/** How a request may behave. */
export interface FetchPolicy {
  /** The fetch function. */
  readonly fetch: typeof fetch;
  /** Longest wait for the response headers, and for each chunk of the body, in ms. */
  readonly timeoutMs: number;
  /**
   * Origins (`https://host:port`) a redirect may lead to. Undefined: any origin (for a single file the caller named
   * by URL, such as a `.keras` file on a release server).
   */
  readonly allowedOrigins?: ReadonlySet<string>;
}

/**
 * The origins a manifest's requests may reach: the model.json's own, its https upgrade, and `extra`. This is the
 * manifest rule (weights come from the model's host) applied to redirects.
 */
export function originsFor(url: string, extra: readonly string[] = []): Set<string> {
  const own = new URL(url);
  const origins = new Set<string>([own.origin, ...extra.map((o) => new URL(o).origin)]);
  if (own.protocol === 'http:') origins.add(`https://${own.host}`);
  return origins;
}

/** Rejects with `error()` after `ms` unless `promise` settles first; the timer never outlives the race. */
async function within<T>(promise: Promise<T>, ms: number, error: () => Error, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Settle first: aborting rejects the pending read at once, and the race must report the timeout, not that.
      reject(error());
      onTimeout();
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function refuseOrigin(url: string, target: string, allowed: ReadonlySet<string>): never {
  throw new UnsafeModelError(
    `${url} redirects to ${target}, outside the allowed origins (${[...allowed].join(', ')}); refused (pass allowedOrigins to trust another host)`,
  );
}

/** Sends the request, following redirects by hand (Node) so that each hop's origin is checked before it is asked. */
async function request(url: string, policy: FetchPolicy, controller: AbortController): Promise<Response> {
  const manual = isNode() && policy.allowedOrigins !== undefined;
  let current = url;
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await within(
        policy.fetch(current, { redirect: manual ? 'manual' : 'follow', signal: controller.signal }),
        policy.timeoutMs,
        () => new LoadError(`cannot download ${current}: no response within ${policy.timeoutMs} ms (timeoutMs)`),
        () => controller.abort(),
      );
    } catch (err) {
      if (err instanceof TlKitError) throw err;
      throw new LoadError(`cannot download ${current} (${rootReason(err)})`, { cause: err });
    }
    const allowed = policy.allowedOrigins;
    // A fetch that followed redirects itself (a browser, or a caller's fetch) reports where it ended up.
    if (allowed !== undefined && response.url !== '' && !allowed.has(new URL(response.url).origin)) {
      await response.body?.cancel().catch(() => undefined);
      refuseOrigin(url, response.url, allowed);
    }
    if (response.type === 'opaqueredirect') {
      throw new LoadError(`cannot download ${current}: it redirects, and this fetch cannot show where to`);
    }
    const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
    if (location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    const next = new URL(location, current).href;
    if (allowed !== undefined && !allowed.has(new URL(next).origin)) refuseOrigin(url, next, allowed);
    if (hop + 1 >= MAX_REDIRECTS) throw new LoadError(`cannot download ${url}: more than ${MAX_REDIRECTS} redirects`);
    current = next;
  }
}

/**
 * GETs `url` fully under `policy`. Refuses (before reading further) a body longer than `limit` bytes, so that a lying
 * server cannot make the caller buffer more than `limitWhy` allows.
 *
 * @throws {@link LoadError} for a network error, an HTTP error status, a timeout or a cut-off transfer;
 *   {@link UnsafeModelError} for a body over the limit or a redirect to an origin that is not allowed.
 */
export async function fetchBytes(url: string, policy: FetchPolicy, limit: number, limitWhy: string): Promise<Uint8Array> {
  const controller = new AbortController();
  const response = await request(url, policy, controller);
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new HttpStatusError(url, response.status, response.statusText);
  }
  // Content-Length counts encoded bytes; with gzip/br the decoded body is longer, so only trust it for identity bodies.
  const encoding = response.headers.get('content-encoding');
  const declared =
    encoding === null || encoding === 'identity' ? Number(response.headers.get('content-length') ?? NaN) : NaN;
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    controller.abort();
    throw new OverLimitError(`${url}: the server sends ${declared} bytes but ${limitWhy} ${limit}; refused`, declared);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  if (response.body === null) {
    const bytes = new Uint8Array(
      await within(
        response.arrayBuffer(),
        policy.timeoutMs,
        () => new LoadError(`download of ${url} stalled: no data for ${policy.timeoutMs} ms (timeoutMs)`),
        () => controller.abort(),
      ),
    );
    if (bytes.byteLength > limit) throw new OverLimitError(`${url}: the server sends more than the ${limit} bytes ${limitWhy}; refused`);
    return bytes;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await within(
        reader.read(),
        policy.timeoutMs,
        () => new LoadError(`download of ${url} stalled: no data for ${policy.timeoutMs} ms after ${received} bytes (timeoutMs)`),
        () => controller.abort(),
      );
      if (done) break;
      received += value.byteLength;
      if (received > limit) {
        throw new OverLimitError(`${url}: the server sends more than the ${limit} bytes ${limitWhy}; refused`);
      }
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    controller.abort();
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`download of ${url} was cut off after ${received} bytes`, { cause: err });
  }
  if (Number.isFinite(declared) && received !== declared) {
    throw new LoadError(`download of ${url} was cut off: got ${received} of ${declared} bytes`);
  }
  return new Uint8Array(concatBytes(chunks));
}

/** Longest `timeoutMs` accepted: one day (Node's timers overflow past 2^31 - 1 ms and fire at once). */
const MAX_TIMEOUT_MS = 86_400_000;

/**
 * A `timeoutMs` option checked: `fallback` when undefined, else a positive number of milliseconds, at most one day.
 *
 * @throws {@link InvalidArgumentError} naming `call` and `timeoutMs` otherwise.
 */
export function resolveTimeout(call: string, value: unknown, fallback = DEFAULT_TIMEOUT_MS): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(call, 'timeoutMs', `a number of milliseconds in (0, ${MAX_TIMEOUT_MS}]`, ms);
  }
  return ms;
}
