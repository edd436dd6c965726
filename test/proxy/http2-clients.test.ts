// Tests for the HTTP/2 listeners with outside clients: curl with prior knowledge and with an h2c upgrade offer, and a short multiplexed h2load run.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundServer } from '../../src/proxy/index.js';
import { requireBinary } from '../support/binaries.js';
import { instance, quietRuntime, snapshotsOf, startServer, type TestServer } from './request-path-fixtures.js';

const run = promisify(execFile);
const curl = await requireBinary('curl', { aptPackage: 'curl', purpose: 'curl --http2-prior-knowledge against the outbound listener' });
const h2load = await requireBinary('h2load', { aptPackage: 'nghttp2-client', purpose: 'a multiplexed h2load run against the outbound listener' });

let app: TestServer;
let port = 0;
let close: () => Promise<void>;

beforeAll(async () => {
  app = await startServer((req, res) => res.end(`${req.method} ${req.url} over ${req.httpVersion}`));
  const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('g-0', app.port)]) });
  port = (await proxy.listen('127.0.0.1', 0)).port;
  close = () => proxy.close(0);
});

afterAll(async () => {
  await close();
  await app.close();
});

describe.skipIf(curl === undefined)('curl', () => {
  it('speaks HTTP/2 with prior knowledge to the outbound listener', async () => {
    const { stdout } = await run(curl!, ['-sS', '--http2-prior-knowledge', '-H', 'host: greeter', '-w', '\n%{http_version}', `http://127.0.0.1:${port}/hello`], { timeout: 10_000 });
    expect(stdout).toBe('GET /hello over 1.1\n2');
  });

  it('is answered in HTTP/1.1 when it offers an h2c upgrade (a server may ignore the offer)', async () => {
    const { stdout } = await run(curl!, ['-sS', '--http2', '-H', 'host: greeter', '-w', '\n%{http_version}', `http://127.0.0.1:${port}/offer`], { timeout: 10_000 });
    expect(stdout).toBe('GET /offer over 1.1\n1.1');
  });
});

describe.skipIf(h2load === undefined)('h2load', () => {
  it('runs 2,000 requests over 4 connections of 10 streams each with no error', async () => {
    const { stdout } = await run(h2load!, ['-n', '2000', '-c', '4', '-m', '10', '-H', ':authority: greeter', `http://127.0.0.1:${port}/load`], { timeout: 60_000 });
    expect(stdout).toMatch(/requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/);
    expect(stdout).toMatch(/status codes: 2000 2xx/);
  });
});
