// Dashboard: the control plane's static routes over real HTTP — content types, caching, 404s and path traversal.
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeftError } from '../../src/core/index.js';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { loadDashboardAssets } from '../../src/dashboard/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { freePorts, stopProcess, waitForHttp } from '../support/index.js';
import { pollUntil, startWeft } from '../e2e/weft-cli.js';

const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Decoded text (gunzipped when the reply was). */
  body: string;
  /** Bytes on the wire. */
  bytes: number;
}

/** node:http sends the path exactly as given, where fetch would normalise "../" away before it left the client. */
function raw(plane: ControlPlane, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: plane.port, path, method: options.method ?? 'GET', headers: options.headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const body = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, bytes: bytes.length });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard routes', () => {
  let plane: ControlPlane;
  beforeAll(async () => {
    plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: runtime() });
  });
  afterAll(async () => {
    await plane.close();
  });

  it.each([
    ['/', 'text/html; charset=utf-8', '<title>weft dashboard</title>'],
    ['/dashboard/index.html', 'text/html; charset=utf-8', '<title>weft dashboard</title>'],
    ['/dashboard/app.js', 'text/javascript; charset=utf-8', 'followWatch'],
    ['/dashboard/app.css', 'text/css; charset=utf-8', '.badge'],
    ['/dashboard/vendor/uPlot.esm.js', 'text/javascript; charset=utf-8', 'export { uPlot as default }'],
    ['/dashboard/vendor/uPlot.min.css', 'text/css; charset=utf-8', '.uplot'],
  ])('serves %s as %s', async (path, contentType, content) => {
    const reply = await raw(plane, path);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(contentType);
    expect(reply.headers['cache-control']).toBe('no-cache');
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['content-security-policy']).toContain("default-src 'self'");
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
    expect(reply.body).toContain(content);
  });

  it('answers 304 to a matching If-None-Match and 200 to a stale one', async () => {
    const first = await raw(plane, '/dashboard/app.js');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await raw(plane, '/dashboard/app.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);
    const stale = await raw(plane, '/dashboard/app.js', { headers: { 'if-none-match': '"something-else"' } });
    expect(stale.status).toBe(200);
    expect(stale.body).toBe(first.body);
  });

  it('gzips for a browser that accepts it, under its own ETag, and not for one that refuses it', async () => {
    const plain = await raw(plane, '/dashboard/vendor/uPlot.esm.js');
    const gzipped = await raw(plane, '/dashboard/vendor/uPlot.esm.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('accept-encoding');
    expect(gzipped.body).toBe(plain.body);
    expect(gzipped.bytes).toBeLessThan(plain.bytes / 2);
    expect(gzipped.headers.etag).not.toBe(plain.headers.etag);
    const again = await raw(plane, '/dashboard/vendor/uPlot.esm.js', { headers: { 'accept-encoding': 'gzip', 'if-none-match': String(gzipped.headers.etag) } });
    expect(again.status).toBe(304);
    for (const refusal of ['gzip;q=0', 'br', 'identity']) {
      const reply = await raw(plane, '/dashboard/app.js', { headers: { 'accept-encoding': refusal } });
      expect(reply.headers['content-encoding'], refusal).toBeUndefined();
    }
  });

  it('answers HEAD with the headers and no body, and refuses other methods', async () => {
    const head = await raw(plane, '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(head.body).toBe('');
    const post = await raw(plane, '/dashboard/app.js', { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it.each([
    '/dashboard/../../etc/passwd',
    '/dashboard/../../../../../../etc/passwd',
    '/dashboard/%2e%2e/%2e%2e/etc/passwd',
    '/dashboard/..%2f..%2f..%2fetc%2fpasswd',
    '/dashboard/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/dashboard/%252e%252e%252fetc%252fpasswd',
    '/dashboard/..%5c..%5cetc%5cpasswd',
    '/dashboard/vendor/..%2f..%2f..%2fpackage.json',
    '/dashboard/vendor/../../package.json',
    '/dashboard/vendor/uPlot.js',
    '/dashboard/uPlot.esm.js',
    '/dashboard/',
    '/dashboard/nope.js',
    '/dashboard/app.js/',
    '/dashboard-assets.ts',
  ])('answers 404 to %s and never a file from outside the dashboard', async (path) => {
    const reply = await raw(plane, path);
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.body).not.toMatch(/root:|"name": "weft"/);
  });

  it('answers a path with broken percent-encoding with a 400, not a crash', async () => {
    const reply = await raw(plane, '/dashboard/%E0%A4%A');
    expect(reply.status).toBe(400);
    expect((await raw(plane, '/')).status).toBe(200);
  });

  it('loads every file the page refers to from this control plane and nothing from elsewhere', async () => {
    const assets = await loadDashboardAssets();
    const paths = [...assets.keys()].filter((path) => !path.startsWith('/dashboard/vendor/'));
    const referenced = new Set<string>();
    for (const path of paths) {
      const body = (await raw(plane, path)).body;
      // The page works offline: no CDN, no web fonts, no absolute URLs at all.
      expect(body, path).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      for (const match of body.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)) referenced.add(match[1]!);
      for (const match of body.matchAll(/from '\.\/([^']+)'/g)) referenced.add(`/dashboard/${match[1]!}`);
    }
    expect(referenced.size).toBeGreaterThanOrEqual(10);
    for (const path of referenced) expect((await raw(plane, path)).status, path).toBe(200);
  });
});

describe('dashboard switched off or missing', () => {
  it('serves nothing at / with dashboard: false', async () => {
    const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: runtime(), dashboard: false });
    try {
      expect((await raw(plane, '/')).status).toBe(404);
      expect((await raw(plane, '/healthz')).status).toBe(200);
    } finally {
      await plane.close();
    }
  });

  it('reports a missing public directory as a WeftError that names the way out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-dashboard-'));
    try {
      const failure = await loadDashboardAssets(join(dir, 'public')).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WeftError);
      expect((failure as WeftError).code).toBe('INTERNAL');
      expect((failure as WeftError).message).toMatch(/dashboard's files.*npm run build.*--no-dashboard/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('weft control and the dashboard', () => {
  it('prints the dashboard URL and serves it, and serves none with --no-dashboard', async () => {
    const [withPort, withoutPort] = await freePorts(2);
    const withDashboard = startWeft('control', ['control', '--dev', '--listen', `127.0.0.1:${withPort}`]);
    const withoutDashboard = startWeft('control', ['control', '--dev', '--no-dashboard', '--listen', `127.0.0.1:${withoutPort}`]);
    try {
      await waitForHttp(`http://127.0.0.1:${withPort}/healthz`, 15_000, { process: withDashboard });
      await waitForHttp(`http://127.0.0.1:${withoutPort}/healthz`, 15_000, { process: withoutDashboard });
      // The line may reach us just after the server answered.
      await pollUntil('the dashboard line', 5_000, async () => (withDashboard.output().includes(`dashboard: http://127.0.0.1:${withPort}/`) ? true : undefined));
      await pollUntil('the listening line', 5_000, async () => (withoutDashboard.output().includes('weft control listening') ? true : undefined));
      expect(withoutDashboard.output()).not.toContain('dashboard:');
      const served = await fetch(`http://127.0.0.1:${withPort}/`, { signal: AbortSignal.timeout(5000) });
      expect(served.status).toBe(200);
      expect(await served.text()).toContain('<title>weft dashboard</title>');
      const refused = await fetch(`http://127.0.0.1:${withoutPort}/`, { signal: AbortSignal.timeout(5000) });
      expect(refused.status).toBe(404);
    } finally {
      await Promise.all([stopProcess(withDashboard), stopProcess(withoutDashboard)]);
    }
  }, 30_000);
});
