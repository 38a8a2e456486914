import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DownloadError, describeNetworkError, downloadFile } from '../../examples/cats-vs-dogs/download';

const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
const sha = createHash('sha256').update(body).digest('hex');

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;
let server: Server | undefined;
const requests: (string | undefined)[] = [];

async function serve(handler: Handler): Promise<string> {
  requests.length = 0;
  server = createServer((req, res) => {
    requests.push(req.headers.range);
    handler(req, res, requests.length);
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/kagglecatsanddogs.zip`;
}

/** Serves `body` with Range support, as download.microsoft.com does. */
function sendRange(req: IncomingMessage, res: ServerResponse, closeAfter?: number): void {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = match ? Number(match[1]) : 0;
  if (start >= body.length) {
    res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
    return;
  }
  const headers = { 'Content-Length': String(body.length - start), 'Accept-Ranges': 'bytes' };
  if (match) res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
  else res.writeHead(200, headers);
  if (closeAfter === undefined) {
    res.end(body.subarray(start));
  } else {
    // Send part of the bytes, let them arrive, then drop the connection like a flaky network.
    res.write(body.subarray(start, start + closeAfter), () => setTimeout(() => res.socket?.destroy(), 200));
  }
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tlkit-dl-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('cats-vs-dogs example: resumable download', () => {
  it('resumes with a Range request after the connection drops, then verifies size and SHA-256', async () => {
    const url = await serve((req, res, hit) => sendRange(req, res, hit === 1 ? 70_000 : undefined));
    const dest = join(await tempDir(), 'pets.zip');
    const resumed: number[] = [];
    const result = await downloadFile(url, dest, {
      expectedSize: body.length,
      sha256: sha,
      onResume: (offset) => resumed.push(offset),
    });
    expect(result).toEqual({ path: dest, bytes: body.length, sha256: sha, cached: false });
    expect(requests[0]).toBeUndefined();
    expect(requests[1]).toMatch(/^bytes=\d+-$/);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toBeGreaterThan(0);
    expect(Buffer.compare(await readFile(dest), body)).toBe(0);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('continues a part file left by an earlier run, and asks nothing when it is already complete', async () => {
    const url = await serve((req, res) => sendRange(req, res));
    const dest = join(await tempDir(), 'pets.zip');
    await writeFile(`${dest}.part`, body.subarray(0, 123_456));
    await downloadFile(url, dest, { expectedSize: body.length, sha256: sha });
    expect(requests).toEqual(['bytes=123456-']);
    const again = await downloadFile(url, dest, { expectedSize: body.length, sha256: sha });
    expect(again.cached).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(body.length) });
      res.end(body);
    });
    const dest = join(await tempDir(), 'pets.zip');
    await writeFile(`${dest}.part`, Buffer.alloc(5000, 1));
    const result = await downloadFile(url, dest, { sha256: sha });
    expect(result.bytes).toBe(body.length);
    expect(Buffer.compare(await readFile(dest), body)).toBe(0);
  });

  it('rejects a file whose checksum does not match and keeps no bytes of it', async () => {
    const url = await serve((req, res) => sendRange(req, res));
    const dest = join(await tempDir(), 'pets.zip');
    const error = await downloadFile(url, dest, { sha256: '0'.repeat(64) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/SHA-256 [0-9a-f]{64}, expected 0{64}$/);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('fails on an HTTP error and when a server keeps dropping the connection', async () => {
    const missing = await serve((_req, res) => res.writeHead(404, 'Not Found').end());
    const dir = await tempDir();
    await expect(downloadFile(missing, join(dir, 'a.zip'))).rejects.toThrow(/HTTP 404 Not Found$/);
    await new Promise<void>((done) => server?.close(() => done()));

    const flaky = await serve((req, res) => sendRange(req, res, 1000));
    const error = await downloadFile(flaky, join(dir, 'b.zip'), { expectedSize: body.length, retries: 2 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message, String((error as Error).cause)).toMatch(/incomplete after 3 attempts \(3000 bytes of 200000\); last error: connection dropped \[UND_ERR_SOCKET\]$/);
    expect(requests).toEqual([undefined, 'bytes=1000-', 'bytes=2000-']);
  });

  it('names the cause when no request gets an answer: a host that cannot be resolved, a refused connection', async () => {
    // .invalid never resolves (RFC 2606): what an offline machine sees for every host.
    const dest = join(await tempDir(), 'pets.zip');
    const offline = await downloadFile('http://download.invalid/pets.zip', dest, { expectedSize: 10, retries: 1 }).catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(DownloadError);
    expect((offline as DownloadError).unreachable).toBe(true);
    expect((offline as DownloadError).message).toMatch(
      /^http:\/\/download\.invalid\/pets\.zip: host not found( \(no network, or no DNS\))?: download\.invalid \[E[A-Z_]+\]; no answer in 2 attempts$/,
    );
    expect(existsSync(dest)).toBe(false);

    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const refused = await downloadFile(`http://127.0.0.1:${port}/pets.zip`, dest, { retries: 0 }).catch((e: unknown) => e);
    expect((refused as DownloadError).message).toBe(`http://127.0.0.1:${port}/pets.zip: connection refused: 127.0.0.1:${port} [ECONNREFUSED]; no answer in 1 attempts`);
    expect((refused as DownloadError).unreachable).toBe(true);
  });

  it('describes network errors from the cause chain that fetch builds', () => {
    const dns = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo EAI_AGAIN x'), { code: 'EAI_AGAIN' }) });
    expect(describeNetworkError(dns, 'https://download.microsoft.com/a.zip')).toEqual({
      text: 'host not found (no network, or no DNS): download.microsoft.com [EAI_AGAIN]',
      unreachable: true,
    });
    const several = new TypeError('fetch failed', { cause: new AggregateError([Object.assign(new Error('x'), { code: 'ENETUNREACH' })]) });
    expect(describeNetworkError(several, 'https://h.example/a').text).toBe('network unreachable (no network): h.example [ENETUNREACH]');
    expect(describeNetworkError(new Error('socket hang up'), 'https://h.example/a')).toEqual({ text: 'socket hang up', unreachable: false });
  });
});
