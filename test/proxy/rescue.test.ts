import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, expect } from 'vitest';
import {
  AppUnavailableError,
  ConnectFailedError,
  DrainingError,
  MissingHostError,
  NoEndpointsError,
  UpstreamProtocolError,
  UpstreamResetError,
  UnauthenticatedError,
  UpstreamTimeoutError,
  ValidationError,
  WeftError,
} from '../../src/core/index.js';
import { asWeftError, rescue, statusOf } from '../../src/proxy/rescue.js';

describe('rescue', () => {
  it('maps every request-path code to its status', () => {
    expect(statusOf(new NoEndpointsError('s'))).toBe(503);
    expect(statusOf(new ConnectFailedError('t'))).toBe(503);
    expect(statusOf(new AppUnavailableError('t'))).toBe(503);
    expect(statusOf(new DrainingError())).toBe(503);
    expect(statusOf(new UpstreamResetError('t'))).toBe(502);
    expect(statusOf(new UpstreamProtocolError('t'))).toBe(502);
    expect(statusOf(new UpstreamTimeoutError('t', 5))).toBe(504);
    expect(statusOf(new MissingHostError())).toBe(400);
    expect(statusOf(new UnauthenticatedError('missing', 'Bearer realm="api"'))).toBe(401);
    expect(statusOf(new ValidationError('f', 'bad'))).toBe(500);
    expect(asWeftError(new Error('boom')).code).toBe('INTERNAL');
  });

  it('writes JSON with the code, the details and x-weft-error; unexpected codes become INTERNAL', async () => {
    const errors: WeftError[] = [new NoEndpointsError('greeter'), new ValidationError('port', 'bad'), new UnauthenticatedError('expired (exp is in the past)', 'Bearer realm="api", error="invalid_token"')];
    let next = 0;
    const server = http.createServer((_req, res) => rescue(res, errors[next++]!));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const fetchOne = () =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        }).on('error', reject);
      });
    try {
      const first = await fetchOne();
      expect(first.status).toBe(503);
      expect(first.headers['x-weft-error']).toBe('NO_ENDPOINTS');
      expect(JSON.parse(first.body)).toEqual({ code: 'NO_ENDPOINTS', message: 'no healthy endpoints for service "greeter"', service: 'greeter' });
      const second = await fetchOne();
      expect(second.status).toBe(500);
      expect(second.headers['x-weft-error']).toBe('INTERNAL');
      expect(JSON.parse(second.body)).toMatchObject({ code: 'INTERNAL' });
      const third = await fetchOne();
      expect(third.status).toBe(401);
      expect(third.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      expect(third.headers['x-weft-error']).toBe('UNAUTHENTICATED');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
