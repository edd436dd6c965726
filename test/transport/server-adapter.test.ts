import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../src/core/index.js';
import type { Dispatch } from '../../src/http/index.js';
import { Http1ServerExchange, type ServerEdge } from '../../src/transport/index.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise<void>((r) => server.close(() => r()));
});

function get(port: number): Promise<{ status: number; code: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers['x-weft-error'] as string | undefined, body }));
      })
      .on('error', reject);
  });
}

describe('HTTP/1.1 server adapter', () => {
  it('answers INTERNAL when a stage throws, tells the listener, and keeps serving; a second answer is ignored', async () => {
    const bugs: unknown[] = [];
    let closed = 0;
    const edge: ServerEdge = { draining: false, begin: () => {}, end: () => closed++ };
    let calls = 0;
    const stack: Dispatch = (_req, handler) => {
      calls++;
      if (calls === 1) throw new TypeError('a bug in a stage');
      handler.onStart(200, ['content-length', '2'], { resume: () => {}, drop: () => {} }, 'OK');
      handler.onData(Buffer.from('ok'));
      handler.onEnd(null);
      // A stage that answers twice must not write twice.
      handler.onError(new WeftError('INTERNAL', 'late'));
    };
    const server = http.createServer((req, res) => new Http1ServerExchange(req, res, edge, 'greeter', 0, 0).dispatchTo(stack, { error: (record) => bugs.push(record) }));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const first = await get(port);
    expect(first.status).toBe(500);
    expect(first.code).toBe('INTERNAL');
    expect(bugs).toHaveLength(1);
    expect(await get(port)).toEqual({ status: 200, code: undefined, body: 'ok' });
    expect(closed).toBe(2);
  });
});
