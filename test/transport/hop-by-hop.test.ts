import { describe, it, expect } from 'vitest';
import { forwardRequestHeaders, forwardResponseHeaders } from '../../src/transport/index.js';

describe('hop-by-hop headers', () => {
  it('drops connection-scoped request headers and the ones Connection names', () => {
    const raw = [
      'Host', 'greeter',
      'Connection', 'keep-alive, X-Trace-Hop',
      'Keep-Alive', 'timeout=5',
      'TE', 'trailers',
      'Trailer', 'x',
      'Upgrade', 'websocket',
      'Proxy-Authorization', 'secret',
      'Proxy-Connection', 'keep-alive',
      'x-trace-hop', '1',
      'Accept', '*/*',
      'Content-Length', '5',
    ];
    const { headers, hasBody } = forwardRequestHeaders(raw);
    expect(headers).toEqual(['Host', 'greeter', 'Accept', '*/*', 'Content-Length', '5']);
    expect(hasBody).toBe(true);
  });

  it('leaves the framing of a chunked body to the next hop and sees bodies', () => {
    expect(forwardRequestHeaders(['Host', 'a', 'Transfer-Encoding', 'gzip, chunked'])).toEqual({ headers: ['Host', 'a'], hasBody: true });
    expect(forwardRequestHeaders(['Host', 'a', 'Expect', '100-continue', 'Content-Length', '3'])).toEqual({ headers: ['Host', 'a', 'Content-Length', '3'], hasBody: true });
    expect(forwardRequestHeaders(['Host', 'a', 'Content-Length', '0']).hasBody).toBe(false);
    expect(forwardRequestHeaders(['Host', 'a']).hasBody).toBe(false);
  });

  it('keeps repeated end-to-end response headers and drops hop-by-hop ones', () => {
    const raw = ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Transfer-Encoding', 'chunked', 'Connection', 'close', 'Keep-Alive', 'timeout=5', 'Content-Type', 'text/plain'];
    expect(forwardResponseHeaders(raw)).toEqual(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Type', 'text/plain']);
  });
});
