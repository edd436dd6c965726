// Tests for transport/http1/request-head: the request line, Host and body framing the client side writes, and what it refuses to write.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { requestHead, UnwritableRequestError } from '../../src/transport/http1/request-head.js';

const stream = (): Readable => Readable.from([]);

describe('requestHead', () => {
  it('writes the request line and headers as given, with the pool host only when the request has none', () => {
    expect(requestHead('GET', '/a?b=1', ['Host', 'greeter', 'X-Id', '7'], '10.0.0.1:80', null)).toEqual({
      text: 'GET /a?b=1 HTTP/1.1\r\nHost: greeter\r\nX-Id: 7\r\n\r\n',
      chunked: false,
      contentLength: 0,
    });
    expect(requestHead('GET', '/', [], '[::1]:8080', null).text).toBe('GET / HTTP/1.1\r\nhost: [::1]:8080\r\n\r\n');
  });

  it('announces an empty body on a bodiless POST, PUT or PATCH, and nothing on other methods', () => {
    expect(requestHead('POST', '/', ['host', 'h'], 'x', null).text).toContain('content-length: 0\r\n');
    expect(requestHead('DELETE', '/', ['host', 'h'], 'x', null).text).not.toContain('content-length');
    expect(requestHead('PUT', '/', ['host', 'h', 'Content-Length', '0'], 'x', null).text.match(/content-length/gi)).toHaveLength(1);
  });

  it('frames a kept body by its length and a stream of unknown length as chunked', () => {
    const whole = requestHead('POST', '/', ['host', 'h'], 'x', Buffer.from('hello'));
    expect(whole).toMatchObject({ chunked: false, contentLength: 5 });
    expect(whole.text).toContain('content-length: 5\r\n');
    const chunked = requestHead('POST', '/', ['host', 'h'], 'x', stream());
    expect(chunked).toMatchObject({ chunked: true, contentLength: -1 });
    expect(chunked.text.endsWith('transfer-encoding: chunked\r\n\r\n')).toBe(true);
    expect(requestHead('POST', '/', ['host', 'h', 'content-length', '12'], 'x', stream())).toMatchObject({ chunked: false, contentLength: 12 });
  });

  it('writes one Content-Length for repeated equal values and refuses conflicting ones', () => {
    expect(requestHead('POST', '/', ['content-length', '3', 'Content-Length', '3'], 'x', Buffer.from('abc')).text.match(/content-length/gi)).toHaveLength(1);
    expect(() => requestHead('POST', '/', ['content-length', '3', 'content-length', '4'], 'x', stream())).toThrow(UnwritableRequestError);
    expect(() => requestHead('POST', '/', ['content-length', '-1'], 'x', stream())).toThrow(UnwritableRequestError);
    expect(() => requestHead('POST', '/', ['content-length', '4'], 'x', Buffer.from('abc'))).toThrow(UnwritableRequestError);
    expect(() => requestHead('POST', '/', ['content-length', '4'], 'x', null)).toThrow(UnwritableRequestError);
  });

  it.each([
    ['a method that is no token', 'GE T', '/', []],
    ['a target with a space', 'GET', '/a b', []],
    ['a target with CRLF', 'GET', '/a\r\nX: y', []],
    ['an empty target', 'GET', '', []],
    ['a header name with a colon', 'GET', '/', ['a:b', 'v']],
    ['a header value with CRLF', 'GET', '/', ['x', 'a\r\nInjected: 1']],
    ['a header value with NUL', 'GET', '/', ['x', 'a\0b']],
  ])('refuses %s', (_what, method, path, headers) => {
    expect(() => requestHead(method, path, headers, 'x', null)).toThrow(UnwritableRequestError);
  });
});
