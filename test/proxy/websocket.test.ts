// Tests for WebSocket (HTTP/1.1 Upgrade) through the outbound listener: the real `ws` client and server on 127.0.0.1.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { instance, quietRuntime, snapshotsOf, startServer } from './request-path-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A ws server echoing every message; `bye` makes it close with 4000. */
async function echoServer(): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (socket, req) => {
    socket.send(`hello ${req.url}`);
    socket.on('message', (data, binary) => {
      if (!binary && data.toString() === 'bye') socket.close(4000, 'asked to');
      else socket.send(data, { binary });
    });
  });
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate();
    wss.close(() => resolve());
  }));
  return (wss.address() as AddressInfo).port;
}

async function outboundTo(port: number): Promise<number> {
  const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('ws-0', port)]) });
  const address = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return address.port;
}

function connect(port: number, path = '/chat'): Promise<{ ws: WebSocket; messages: (WebSocket.RawData | string)[]; closed: Promise<[number, string]> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host: 'greeter' } });
  const messages: (WebSocket.RawData | string)[] = [];
  ws.on('message', (data, binary) => messages.push(binary ? (data as Buffer) : data.toString()));
  const closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('WebSocket through the outbound listener', () => {
  it('carries messages both ways, a 1 MB binary message whole, and the server-initiated close', async () => {
    const port = await outboundTo(await echoServer());
    const { ws, messages, closed } = await connect(port);
    await until(() => messages.length === 1);
    expect(messages[0]).toBe('hello /chat');
    ws.send('ping');
    const big = Buffer.alloc(1024 * 1024, 7);
    ws.send(big);
    await until(() => messages.length === 3);
    expect(messages[1]).toBe('ping');
    expect(Buffer.compare(messages[2] as Buffer, big)).toBe(0);
    ws.send('bye');
    expect(await closed).toEqual([4000, 'asked to']);
  });

  it('passes on an endpoint that refuses to switch, and closes the connection after its answer', async () => {
    const plain = await startServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('no sockets here');
    });
    cleanups.push(() => plain.close());
    const port = await outboundTo(plain.port);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'greeter' } });
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
  });

  it('answers an upgrade to a service without endpoints with the mesh error, not a switch', async () => {
    const port = await outboundTo(await echoServer());
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'nobody' } });
    const reply = await new Promise<[number, string | string[] | undefined]>((resolve) => ws.on('unexpected-response', (_req, res) => resolve([res.statusCode ?? 0, res.headers['x-weft-error']])));
    expect(reply).toEqual([503, 'NO_ENDPOINTS']);
  });
});
