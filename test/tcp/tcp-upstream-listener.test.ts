// Tests for the outbound TCP port on real sockets: echo, balancing per connection, connect failover, half-close, server-first greetings, backpressure, idle timeout, the cap, drain.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import { createTcpUpstreamListener, TCP_METRIC_NAMES, type TcpLimitOverrides } from '../../src/tcp/index.js';
import {
  Cleanups,
  deadPort,
  dial,
  echoApp,
  eventually,
  greetingApp,
  meshTls,
  metric,
  quietRuntime,
  replyAfterFinApp,
  startApp,
  tcpInstance,
  TestSnapshots,
  until,
  type Client,
} from './tcp-fixtures.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** An outbound port for service `db` over `snapshots`, on a free port; closed after the test. */
async function upstreamPort(snapshots: TestSnapshots, limits: TcpLimitOverrides = {}, runtime: Runtime = quietRuntime()): Promise<{ port: number; runtime: Runtime; close: (drainMs: number) => Promise<void>; inFlight: () => number }> {
  const listener = createTcpUpstreamListener({ runtime, snapshots, service: 'db', limits });
  const { port } = await listener.listen('127.0.0.1', 0);
  cleanups.add(() => listener.close(0));
  return { port, runtime, close: (drainMs) => listener.close(drainMs), inFlight: () => listener.inFlight() };
}

async function app<T extends { close(): Promise<void> }>(started: Promise<T>): Promise<T> {
  const value = await started;
  cleanups.add(() => value.close());
  return value;
}

async function client(port: number, endOnEnd = true): Promise<Client> {
  const c = await dial(port, endOnEnd);
  cleanups.add(() => void c.socket.destroy());
  return c;
}

/** Connects, reads the greeting line of the instance it reached, closes cleanly and returns the greeting. */
async function greeting(port: number): Promise<{ text: string; error: Error | undefined }> {
  const c = await client(port);
  await c.waitFor((x) => x.text().endsWith('\r\n'));
  const text = c.text().trim();
  c.socket.end();
  await c.waitClosed();
  return { text, error: c.error };
}

const outbound = (reason?: string): Record<string, string> => (reason === undefined ? { direction: 'outbound', service: 'db' } : { direction: 'outbound', service: 'db', reason });

describe('the outbound TCP port', () => {
  it('carries bytes both ways to an instance of the service and counts the connection and its bytes', async () => {
    const echo = await app(echoApp());
    const { port, runtime } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', echo.port)]));
    const c = await client(port);
    c.socket.write('hello through the mesh');
    await c.waitFor((x) => x.text() === 'hello through the mesh');
    c.socket.end();
    await c.waitClosed();
    expect(c.ended).toBe(true);
    const labels = { direction: 'outbound', side: 'upstream', peer: 'db' };
    await eventually(async () => (await metric(runtime, 'weft_proxy_tcp_connections_closed_total', labels)) === 1);
    expect(await metric(runtime, 'weft_proxy_tcp_connections_opened_total', labels)).toBe(1);
    expect(await metric(runtime, 'weft_proxy_tcp_sent_bytes_total', labels)).toBe('hello through the mesh'.length);
    expect(await metric(runtime, 'weft_proxy_tcp_received_bytes_total', { direction: 'outbound', side: 'downstream', peer: '_unknown' })).toBe('hello through the mesh'.length);
    // The port's own series exist from the start.
    expect(await metric(runtime, TCP_METRIC_NAMES.refused, outbound('no_endpoints'))).toBe(0);
  });

  it('balances per connection: six connections over three instances, two each', async () => {
    const apps = await Promise.all(['a', 'b', 'c'].map((name) => app(greetingApp(name))));
    const { port } = await upstreamPort(new TestSnapshots(apps.map((a, i) => tcpInstance(`db-${i}`, a.port))));
    const greeted: string[] = [];
    for (let i = 0; i < 6; i++) greeted.push((await greeting(port)).text);
    expect(greeted.sort()).toEqual(['220 a', '220 a', '220 b', '220 b', '220 c', '220 c']);
    expect(apps.map((a) => a.accepted())).toEqual([2, 2, 2]);
  });

  it('skips an instance whose port is closed: every client connection is carried, the failed connects are counted', async () => {
    const dead = await deadPort();
    const apps = await Promise.all(['b', 'c'].map((name) => app(greetingApp(name))));
    const { port, runtime } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', dead), tcpInstance('db-1', apps[0]!.port), tcpInstance('db-2', apps[1]!.port)]));
    const greeted: string[] = [];
    for (let i = 0; i < 9; i++) {
      const { text, error } = await greeting(port);
      greeted.push(text);
      expect(error).toBeUndefined();
    }
    expect(greeted.every((g) => g === '220 b' || g === '220 c')).toBe(true);
    expect(await metric(runtime, TCP_METRIC_NAMES.connectFailures, outbound())).toBeGreaterThanOrEqual(1);
    expect(await metric(runtime, TCP_METRIC_NAMES.refused, outbound('connect_failed'))).toBe(0);
  });

  it('closes the client when every endpoint fails, or there is none, and counts why', async () => {
    const snapshots = new TestSnapshots([tcpInstance('db-0', await deadPort()), tcpInstance('db-1', await deadPort())]);
    const { port, runtime } = await upstreamPort(snapshots);
    const failed = await client(port);
    await failed.waitClosed();
    expect(failed.bytes()).toBe(0);
    expect(await metric(runtime, TCP_METRIC_NAMES.refused, outbound('connect_failed'))).toBe(1);
    expect(await metric(runtime, TCP_METRIC_NAMES.connectFailures, outbound())).toBe(2);

    snapshots.setInstances([]);
    const none = await client(port);
    await none.waitClosed();
    expect(await metric(runtime, TCP_METRIC_NAMES.refused, outbound('no_endpoints'))).toBe(1);
  });

  it('leaves out instances that are critical or speak another protocol', async () => {
    const good = await app(greetingApp('good'));
    const other = await app(greetingApp('other'));
    const { port } = await upstreamPort(
      new TestSnapshots([tcpInstance('db-0', other.port, { protocol: 'http1' }), tcpInstance('db-1', other.port, { health: 'critical' }), tcpInstance('db-2', good.port)]),
    );
    for (let i = 0; i < 3; i++) {
      const c = await client(port);
      await c.waitFor((x) => x.text().endsWith('\r\n'));
      expect(c.text()).toBe('220 good\r\n');
      c.socket.destroy();
    }
    expect(other.accepted()).toBe(0);
  });

  it('follows the snapshot: a new instance takes connections once published', async () => {
    const first = await app(greetingApp('first'));
    const second = await app(greetingApp('second'));
    const snapshots = new TestSnapshots([tcpInstance('db-0', first.port)]);
    const { port } = await upstreamPort(snapshots);
    snapshots.setInstances([tcpInstance('db-1', second.port)]);
    const c = await client(port);
    await c.waitFor((x) => x.text().endsWith('\r\n'));
    expect(c.text()).toBe('220 second\r\n');
  });

  it('carries a reply sent after the client shut its side (half-close)', async () => {
    const replier = await app(replyAfterFinApp());
    const { port } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', replier.port)]));
    const c = await client(port);
    c.socket.write('question');
    c.socket.end();
    await c.waitFor((x) => x.ended);
    expect(c.text()).toBe('got 8 bytes: question');
    await c.waitClosed();
  });

  it('delivers a server-first greeting without the client sending anything', async () => {
    const smtp = await app(greetingApp('smtp.example ESMTP'));
    const { port } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', smtp.port)]));
    const c = await client(port);
    await c.waitFor((x) => x.text() === '220 smtp.example ESMTP\r\n', 2_000);
  });

  it('moves 8 MiB each way through slow readers on both ends, every byte in order', async () => {
    const size = 8 * 1024 * 1024;
    // The app echoes but reads in bursts, pausing between them: the client's writes must be held back, not buffered whole.
    const slowEcho = await app(
      startApp((socket) => {
        socket.pipe(socket);
        const timer = setInterval(() => {
          socket.pause();
          setTimeout(() => socket.resume(), 5);
        }, 20);
        socket.on('close', () => clearInterval(timer));
      }),
    );
    const { port } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', slowEcho.port)]));
    const c = await client(port);
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    // The client is slow too: it stops reading for a while after every MiB.
    let nextPause = 1024 * 1024;
    c.socket.on('data', () => {
      if (c.bytes() < nextPause) return;
      nextPause += 1024 * 1024;
      c.socket.pause();
      setTimeout(() => c.socket.resume(), 30);
    });
    c.socket.end(payload);
    await c.waitFor((x) => x.ended, 20_000);
    const received = Buffer.concat(c.chunks);
    expect(received.length).toBe(size);
    expect(createHash('sha256').update(received).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  }, 30_000);

  it('closes a connection idle in both directions, and keeps one that moves', async () => {
    const echo = await app(echoApp());
    const { port, runtime } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', echo.port)]), { idleTimeoutMs: 300 });
    const busy = await client(port);
    const idle = await client(port);
    // 900 ms of one byte every 100 ms: three idle timeouts' worth, never idle for one.
    for (let i = 0; i < 9; i++) {
      busy.socket.write('x');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(idle.closed).toBe(true);
    expect(busy.closed).toBe(false);
    await busy.waitFor((x) => x.text() === 'xxxxxxxxx');
    await busy.waitClosed(2_000);
    expect(await metric(runtime, TCP_METRIC_NAMES.idleTimeouts, outbound())).toBe(2);
  });

  it('refuses connections beyond its cap and counts them, and takes new ones once a slot is free', async () => {
    const greeter = await app(greetingApp('capped'));
    const { port, runtime, inFlight } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', greeter.port)]), { maxConnections: 2 });
    const held = [await client(port), await client(port)];
    for (const c of held) await c.waitFor((x) => x.text() === '220 capped\r\n');
    const refused = await client(port);
    await refused.waitClosed();
    expect(refused.bytes()).toBe(0);
    expect(inFlight()).toBe(2);
    expect(await metric(runtime, TCP_METRIC_NAMES.refused, outbound('connection_limit'))).toBe(1);
    held[0]!.socket.end();
    await held[0]!.waitClosed();
    await until(() => inFlight() === 1);
    const next = await client(port);
    await next.waitFor((x) => x.text() === '220 capped\r\n');
  });

  it('drains: stops accepting, sends a FIN to open connections, and destroys what is left after drainMs', async () => {
    const held: Socket[] = [];
    const greeter = await app(
      startApp((socket) => {
        held.push(socket);
        socket.write('220 ready\r\n');
        // The app answers the sidecar's FIN with its own, as a well-behaved server does.
        socket.on('end', () => socket.end());
      }),
    );
    const { port, close, inFlight } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', greeter.port)]));
    // The polite client closes its side when it reads the FIN; the stubborn one never does.
    const polite = await client(port);
    const stubborn = await client(port, false);
    for (const c of [polite, stubborn]) await c.waitFor((x) => x.text() === '220 ready\r\n');
    const started = Date.now();
    await close(500);
    const took = Date.now() - started;
    expect(polite.ended).toBe(true);
    expect(stubborn.ended).toBe(true);
    await polite.waitClosed(1_000);
    // The sidecar's end of the stubborn connection is gone: its first write is answered by a reset, the next one fails.
    stubborn.socket.write('anyone?');
    await new Promise((resolve) => setTimeout(resolve, 50));
    stubborn.socket.write('anyone?');
    await stubborn.waitClosed(1_000);
    expect(stubborn.error?.message).toMatch(/EPIPE|ECONNRESET/);
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(3_000);
    expect(inFlight()).toBe(0);
    await expect(dial(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('drains without losing the answer to a request sent just before: the instance gets a FIN, its reply and FIN reach the client', async () => {
    const slow = await app(
      startApp((socket) => {
        // Answers each line 100 ms later, and closes once the sidecar's FIN has come and its answers are out.
        let pending = 0;
        let ended = false;
        socket.on('data', (chunk: Buffer) => {
          pending++;
          setTimeout(() => {
            socket.write(`+OK ${chunk.toString().trim()}\r\n`);
            if (--pending === 0 && ended) socket.end();
          }, 100);
        });
        socket.on('end', () => {
          ended = true;
          if (pending === 0) socket.end();
        });
      }),
    );
    const { port, close } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', slow.port)]));
    const c = await client(port);
    c.socket.write('SET k v\r\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await close(5_000);
    await c.waitClosed(2_000);
    expect(c.text()).toBe('+OK SET k v\r\n');
    expect(c.ended).toBe(true);
    expect(c.error).toBeUndefined();
  });

  it('never dials a strict service in plaintext, not even before the sidecar holds a certificate', async () => {
    let received = 0;
    const plain = await app(startApp((socket) => socket.on('data', (chunk: Buffer) => (received += chunk.length))));
    const runtime = quietRuntime();
    const listener = createTcpUpstreamListener({ runtime, snapshots: new TestSnapshots([tcpInstance('db-0', plain.port)]), service: 'db', mtls: meshTls('strict', null) });
    const { port } = await listener.listen('127.0.0.1', 0);
    cleanups.add(() => listener.close(0));
    const c = await dial(port);
    c.socket.write('AUTH secret\r\n');
    await c.waitClosed(2_000);
    expect(received).toBe(0);
    expect(c.text()).toBe('');
  });

  it('drains at once when every connection closes in time', async () => {
    const echo = await app(echoApp());
    const { port, close } = await upstreamPort(new TestSnapshots([tcpInstance('db-0', echo.port)]));
    const c = await client(port);
    c.socket.write('hi');
    await c.waitFor((x) => x.text() === 'hi');
    const started = Date.now();
    await close(5_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    await c.waitClosed(1_000);
  });
});
