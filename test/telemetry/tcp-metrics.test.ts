// Telemetry: TCP connection and byte metrics over real loopback sockets: opened, open and closed counts, and bytes
// that are current at every scrape while keep-alive connections live.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTcpMetrics } from '../../src/telemetry/index.js';
import { pollUntil } from '../e2e/weft-cli.js';
import { metricValue } from './metric-value.js';

const CONNECTIONS = 4;
const HELLO = Buffer.alloc(1000, 'h');
const REPLY = Buffer.alloc(3000, 'r');

describe('TCP metrics', () => {
  let server: Server | undefined;
  const clients: Socket[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('counts connections as they open and close, and bytes while they live', async () => {
    const registry = new Registry();
    const tcp = createTcpMetrics(registry);
    const downstream = tcp.connections('inbound', 'downstream', '_unknown');
    // Each accepted socket answers every HELLO it has read in full with one REPLY.
    server = createServer((socket) => {
      let pending = 0;
      socket.on('data', (chunk: Buffer) => {
        pending += chunk.length;
        for (; pending >= HELLO.length; pending -= HELLO.length) socket.write(REPLY);
      });
    });
    server.on('connection', downstream.track);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;

    const labels = { direction: 'inbound', side: 'downstream', peer: '_unknown' };
    const read = async (name: string) => metricValue(await registry.metrics(), name, labels);
    const roundTrip = async (client: Socket, times: number) => {
      const want = client.bytesRead + times * REPLY.length;
      for (let i = 0; i < times; i++) client.write(HELLO);
      await pollUntil('the replies', 5_000, async () => (client.bytesRead >= want ? true : undefined));
    };

    for (let i = 0; i < CONNECTIONS; i++) {
      const client = connect(port, '127.0.0.1');
      client.on('data', () => {});
      clients.push(client);
      await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    }
    await pollUntil('every connection accepted', 5_000, async () => ((await read('weft_proxy_tcp_connections_opened_total')) === CONNECTIONS ? true : undefined));
    for (const [i, client] of clients.entries()) await roundTrip(client, i + 1);

    const written = () => clients.reduce((n, c) => n + c.bytesWritten, 0);
    const readBytes = () => clients.reduce((n, c) => n + c.bytesRead, 0);
    expect(await read('weft_proxy_tcp_connections_open')).toBe(CONNECTIONS);
    expect(await read('weft_proxy_tcp_connections_closed_total')).toBe(0);
    // Still open: the bytes are there before any connection closes.
    expect(await read('weft_proxy_tcp_received_bytes_total')).toBe(written());
    expect(await read('weft_proxy_tcp_sent_bytes_total')).toBe(readBytes());
    expect(written()).toBe(10 * HELLO.length);

    // More traffic on the same keep-alive connections shows at the next scrape.
    for (const client of clients) await roundTrip(client, 2);
    expect(await read('weft_proxy_tcp_received_bytes_total')).toBe(written());
    expect(await read('weft_proxy_tcp_sent_bytes_total')).toBe(readBytes());

    for (const client of clients) client.end();
    await pollUntil('every connection closed', 5_000, async () => ((await read('weft_proxy_tcp_connections_closed_total')) === CONNECTIONS ? true : undefined));
    expect(await read('weft_proxy_tcp_connections_open')).toBe(0);
    expect(await read('weft_proxy_tcp_connections_opened_total')).toBe(CONNECTIONS);
    expect(await read('weft_proxy_tcp_received_bytes_total')).toBe(written());
    expect(await read('weft_proxy_tcp_sent_bytes_total')).toBe(readBytes());
  });

  it('keeps label sets apart and shares the families of one registry', async () => {
    const registry = new Registry();
    const a = createTcpMetrics(registry).connections('outbound', 'upstream', 'greeter');
    const b = createTcpMetrics(registry).connections('outbound', 'upstream', 'echo');
    expect(createTcpMetrics(registry).connections('outbound', 'upstream', 'greeter')).toBe(a);
    server = createServer((socket) => socket.end('bye'));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const dial = (tracker: typeof a) =>
      new Promise<Socket>((resolve, reject) => {
        const client = connect(port, '127.0.0.1', () => tracker.track(client));
        clients.push(client);
        client.on('data', () => {}).once('close', () => resolve(client)).once('error', reject);
      });
    await Promise.all([dial(a), dial(a), dial(b)]);
    const text = await registry.metrics();
    const value = (name: string, peer: string) => metricValue(text, name, { direction: 'outbound', side: 'upstream', peer });
    expect(value('weft_proxy_tcp_connections_opened_total', 'greeter')).toBe(2);
    expect(value('weft_proxy_tcp_connections_closed_total', 'greeter')).toBe(2);
    expect(value('weft_proxy_tcp_received_bytes_total', 'greeter')).toBe(6);
    expect(value('weft_proxy_tcp_connections_opened_total', 'echo')).toBe(1);
    expect(value('weft_proxy_tcp_received_bytes_total', 'echo')).toBe(3);
    expect(value('weft_proxy_tcp_connections_open', 'echo')).toBe(0);
  });
});
