import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it, expect } from 'vitest';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, probeGrpc } from '../../src/resilience/index.js';
import { closedPort, startGrpcHealthServer, startSilentServer } from './grpc-health-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('gRPC health probe', () => {
  it('is healthy when the server answers SERVING, for the whole server and for a named service', async () => {
    const server = await startGrpcHealthServer({ '': 1, greeter: 1, billing: 2 });
    cleanups.push(() => server.close());
    const whole = await probeGrpc('127.0.0.1', server.port, '', 2_000);
    expect(whole).toEqual({ ok: true, reason: `gRPC health check of grpc://127.0.0.1:${server.port} answered SERVING` });
    const greeter = await probeGrpc('127.0.0.1', server.port, 'greeter', 2_000);
    expect(greeter.ok).toBe(true);
    const billing = await probeGrpc('127.0.0.1', server.port, 'billing', 2_000);
    expect(billing.ok).toBe(false);
    expect(billing.reason).toMatch(/answered NOT_SERVING$/);
    expect(server.requests).toEqual(['', 'greeter', 'billing']);
  });

  it('is unhealthy on UNKNOWN, on an unknown service (grpc-status 5), when nothing listens, and when nothing answers', async () => {
    const server = await startGrpcHealthServer({ '': 0 });
    cleanups.push(() => server.close());
    const unknown = await probeGrpc('127.0.0.1', server.port, '', 2_000);
    expect(unknown.ok).toBe(false);
    expect(unknown.reason).toMatch(/answered UNKNOWN$/);
    const missing = await probeGrpc('127.0.0.1', server.port, 'nope', 2_000);
    expect(missing.ok).toBe(false);
    expect(missing.reason).toMatch(/grpc-status 5 \(unknown service\)/);

    const refused = await probeGrpc('127.0.0.1', await closedPort(), '', 2_000);
    expect(refused.ok).toBe(false);
    expect(refused.reason).toMatch(/failed: .*ECONNREFUSED/);

    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const timedOut = await probeGrpc('127.0.0.1', silent.port, '', 200);
    expect(timedOut).toEqual({ ok: false, reason: `gRPC health check of grpc://127.0.0.1:${silent.port} did not answer within 200 ms` });
  });

  it('reads a grpc-message that is not percent-encoding as it came, rather than throwing from the stream', async () => {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('error', () => {});
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'load at 100%' }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const result = await probeGrpc('127.0.0.1', (server.address() as AddressInfo).port, '', 1_000);
      expect(result).toEqual({ ok: false, reason: expect.stringContaining('answered grpc-status 14 (load at 100%)') });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('encodes the request and decodes replies, skipping unknown fields', () => {
    expect([...encodeHealthCheckRequest('')]).toEqual([0, 0, 0, 0, 0]);
    expect([...encodeHealthCheckRequest('ab')]).toEqual([0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
    const long = encodeHealthCheckRequest('x'.repeat(200));
    expect([...long.subarray(0, 8)]).toEqual([0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01]);

    const frame = (bytes: number[]): Buffer => Buffer.from([0, 0, 0, 0, bytes.length, ...bytes]);
    expect(decodeHealthCheckResponse(frame([0x08, 1]))).toEqual({ status: 1 });
    expect(decodeHealthCheckResponse(frame([]))).toEqual({ status: 0 });
    // An unknown string field (2) before the status is skipped.
    expect(decodeHealthCheckResponse(frame([0x12, 2, 0x61, 0x62, 0x08, 2]))).toEqual({ status: 2 });
    expect(decodeHealthCheckResponse(Buffer.from([0, 0, 0]))).toEqual({ error: 'no gRPC message in the reply' });
    expect(decodeHealthCheckResponse(Buffer.from([1, 0, 0, 0, 0]))).toHaveProperty('error');
    expect(decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 9, 0x08]))).toEqual({ error: 'truncated gRPC message' });
    expect(decodeHealthCheckResponse(frame([0x12, 9, 0x61]))).toEqual({ error: 'truncated protobuf field' });
  });
});
