// Tests for the sidecar's outbound path against endpoints no registry should have accepted: their attempts fail, the sidecar stays up.
import { afterEach, describe, expect, it } from 'vitest';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { systemClock } from '../../src/core/index.js';
import { EndpointPool, UndialableEndpointError } from '../../src/transport/index.js';
import { meshRequest, RecordingHandler } from '../support/request-path-kit.js';
import { instance, namedUpstream, quietRuntime, send, snapshotsOf, type TestServer } from './request-path-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Hosts and ports that once reached a registry through an API that only checked their length. */
const UNDIALABLE: Array<{ host: string; port?: number }> = [
  { host: 'a b' },
  { host: '10.0.0.1 ' },
  { host: '[::1]' },
  { host: '127.0.0.1:9/x' },
  { host: 'x\r\nInjected: 1' },
  { host: '' },
  { host: '127.0.0.1', port: 99_999 },
  { host: '127.0.0.1', port: 0 },
];

describe('outbound server: undialable endpoints in the snapshot', () => {
  it('fails their attempts and serves every request from the good endpoint, without exiting', async () => {
    const good: TestServer = await namedUpstream('good');
    cleanups.push(() => good.close());
    const bad = UNDIALABLE.map((b, i) => instance(`bad-${i}`, b.port ?? 8080, { host: b.host }));
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([...bad, instance('good', good.port)]), maxAttempts: UNDIALABLE.length + 1 });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    for (let i = 0; i < 30; i++) {
      const reply = await send(port, { method: i % 2 === 0 ? 'GET' : 'POST', body: i % 2 === 0 ? undefined : 'payload' });
      expect(reply.status, `request ${i}`).toBe(200);
      expect(reply.body.startsWith('good ')).toBe(true);
    }
  });

  it('answers 503 NO_ENDPOINTS when only undialable endpoints are listed', async () => {
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('bad', 8080, { host: 'a b' })]) });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    const reply = await send(port);
    expect(reply.status, reply.body).toBe(503);
    expect(reply.headers['x-weft-error']).toBe('NO_ENDPOINTS');
  });
});

describe('endpoint pool: an undialable address', () => {
  it('fails every dispatch before connecting, with the reason, instead of throwing', async () => {
    const seen: string[] = [];
    const pool = new EndpointPool({ host: '127.0.0.1:9/x', port: 80, address: '127.0.0.1:9/x:80' }, { onUndialable: (address, reason) => seen.push(`${address} ${reason}`) });
    const handler = new RecordingHandler();
    pool.dispatch(meshRequest({ clock: systemClock }), handler);
    await handler.done;
    pool.destroy();
    expect(handler.trace).toEqual(['error CONNECT_FAILED']);
    const error = handler.lastError!.cause as Error;
    expect(error).toBeInstanceOf(UndialableEndpointError);
    expect(error.message).toContain('not a dialable address');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^127\.0\.0\.1:9\/x:80 .* is not a dialable address$/);
  });
});
