import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createInboundServer, createOutboundServer } from '../../src/proxy/index.js';
import { instance, quietRuntime, snapshotsOf, startServer } from './request-path-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** An app whose chunked response ends with trailers, as gRPC's does. */
async function trailingApp(): Promise<number> {
  const app = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum, grpc-status' });
    res.write('part one, ');
    res.addTrailers({ 'x-checksum': 'abc123', 'grpc-status': '0' });
    res.end('part two');
  });
  cleanups.push(() => app.close());
  return app.port;
}

function get(port: number, host: string): Promise<{ status: number; body: string; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/stream', headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, trailers: res.trailers }));
      })
      .on('error', reject);
  });
}

describe('trailers', () => {
  it('pass through the outbound and the inbound sidecar to the client unchanged', async () => {
    const appPort = await trailingApp();
    const inbound = createInboundServer({ runtime: quietRuntime(), appPort, service: 'greeter' });
    const { port: inboundPort } = await inbound.listen('127.0.0.1', 0);
    cleanups.push(() => inbound.close(0));
    const outbound = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('greeter-a', inboundPort)]) });
    const { port } = await outbound.listen('127.0.0.1', 0);
    cleanups.push(() => outbound.close(0));

    const direct = await get(appPort, 'greeter');
    expect(direct.trailers).toEqual({ 'x-checksum': 'abc123', 'grpc-status': '0' });
    const reply = await get(port, 'greeter');
    expect(reply).toEqual({ status: 200, body: 'part one, part two', trailers: { 'x-checksum': 'abc123', 'grpc-status': '0' } });
  });
});
