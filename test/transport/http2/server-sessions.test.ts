// Tests for the server side's HTTP/2 sessions under hostile clients: rapid reset, SETTINGS never acknowledged, the stream limit, idle sessions.
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http2Sessions, type Http2ServerLimits, type SessionAbuse } from '../../../src/transport/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Harness {
  port: number;
  abuses: SessionAbuse[];
  streams: () => number;
}

/** Sessions behind a plain listener; each stream is answered after `answerAfterMs` (never, when negative). */
async function harness(limits: Partial<Http2ServerLimits>, answerAfterMs = 0): Promise<Harness> {
  const abuses: SessionAbuse[] = [];
  let streams = 0;
  const sessions = new Http2Sessions({
    limits,
    onStream: (stream) => {
      streams++;
      stream.on('error', () => {});
      if (answerAfterMs < 0) return;
      setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ':status': 200 });
        stream.end('ok');
      }, answerAfterMs);
    },
    onHeadersTooLarge: () => {},
    onAbuse: (reason) => abuses.push(reason),
  });
  const server = net.createServer((socket) => sessions.accept(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    sessions.destroyAll();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, abuses, streams: () => streams };
}

function client(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  cleanups.push(() => session.destroy());
  return session;
}

function settled(session: http2.ClientHttp2Session): Promise<{ goaway?: number; closed: boolean }> {
  return new Promise((resolve) => {
    let goaway: number | undefined;
    session.on('goaway', (code) => (goaway = code));
    session.once('close', () => resolve({ ...(goaway === undefined ? {} : { goaway }), closed: true }));
  });
}

describe('HTTP/2 sessions under hostile clients', () => {
  it.each([
    ['CANCEL', http2.constants.NGHTTP2_CANCEL],
    ['NO_ERROR', http2.constants.NGHTTP2_NO_ERROR],
    ['INTERNAL_ERROR', http2.constants.NGHTTP2_INTERNAL_ERROR],
  ])('closes the session of a client that resets its streams before their answer, over and over (rapid reset, code %s)', async (_name, code) => {
    const h = await harness({ maxResetsPerWindow: 20 }, 1_000);
    const session = client(h.port);
    const ended = settled(session);
    for (let i = 0; i < 60 && !session.closed && !session.destroyed; i++) {
      const req = session.request({ ':path': `/r${i}` });
      req.on('error', () => {});
      await new Promise((resolve) => setImmediate(resolve));
      req.close(code);
    }
    expect(await ended).toEqual({ goaway: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, closed: true });
    expect(h.abuses).toEqual(['reset_flood']);
    // The listener serves the next client.
    const next = client(h.port);
    const status = await new Promise<number>((resolve) => next.request({ ':path': '/' }).on('response', (headers) => resolve(Number(headers[':status']))));
    expect(status).toBe(200);
  });

  it('cuts off a client that never acknowledges the server SETTINGS', async () => {
    const h = await harness({ settingsTimeoutMs: 200 });
    const socket = net.connect(h.port, '127.0.0.1');
    socket.on('error', () => {});
    // The preface and an empty SETTINGS frame, and then nothing: no ACK of the server's SETTINGS ever comes.
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    socket.resume();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(h.abuses).toEqual(['settings_timeout']);
  });

  it('announces its stream limit (nghttp2 refuses streams beyond it), and a client that keeps to it is served', async () => {
    const h = await harness({ maxConcurrentStreams: 5 }, 200);
    const session = client(h.port);
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => new Promise<string>((resolve) => {
        const req = session.request({ ':path': `/c${i}` });
        req.on('response', (headers) => resolve(String(headers[':status'])));
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      })),
    );
    expect(outcomes).toEqual(Array.from({ length: 8 }, () => '200'));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(5);
  });

  it('closes a session that has had no open stream for the idle time, and keeps one with a stream open', async () => {
    const h = await harness({ idleTimeoutMs: 150 }, -1);
    const idle = client(h.port);
    const idleEnded = settled(idle);
    expect((await idleEnded).closed).toBe(true);
    const busy = client(h.port);
    const req = busy.request({ ':path': '/long' });
    req.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(busy.closed || busy.destroyed).toBe(false);
    expect(h.streams()).toBe(1);
  });
});
