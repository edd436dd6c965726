// Bench load process: the tcp bench's load — N connections, each sending a message and waiting for its echo, for D seconds (saturated, or paced on one schedule), timing every round trip; prints one JSON line.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { percentile } from '../registry/latency-stats.js';
import type { TcpLoadReport } from './tcp-load.js';

/** Connections not made within this time are counted as errors and left out. */
const CONNECT_MS = 10_000;
/** As bench/paced.lua: a schedule that fell further behind than this restarts from now rather than bursting to catch up. */
const MAX_LAG_MS = 50;

const { values } = parseArgs({
  strict: true,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    bytes: { type: 'string', default: '64' },
    rate: { type: 'string', default: '0' },
  },
});
const port = Number(values.port);
const connections = Number(values.connections);
const durationMs = Number(values.duration) * 1000;
const bytes = Number(values.bytes);
const rate = Number(values.rate);
if (![port, connections, durationMs, bytes].every((n) => Number.isInteger(n) && n > 0) || !(rate >= 0)) {
  process.stderr.write('usage: tcp-echo-load.ts --port P [--host H] [--connections N] [--duration S] [--bytes B] [--rate R]\n');
  process.exit(2);
}

/** Letters, so that an echo shifted or mixed with another connection's shows. */
const message = Buffer.alloc(bytes);
for (let i = 0; i < bytes; i++) message[i] = 97 + (i % 26);

/** Round-trip times in ms, grown by doubling: no allocation per sample. */
let samples = new Float64Array(1 << 16);
let sampleCount = 0;
let mismatches = 0;
let socketErrors = 0;
let startAt = 0;
let endAt = Number.POSITIVE_INFINITY;
let nextSlot = 0;
const interval = rate > 0 ? 1000 / rate : 0;

interface Connection {
  socket: Socket;
  /** Bytes of the current echo received so far. */
  received: number;
  sentAt: number;
  /** The current echo differed from what was sent. */
  bad: boolean;
}

function record(ms: number): void {
  if (sampleCount === samples.length) {
    const grown = new Float64Array(samples.length * 2);
    grown.set(samples);
    samples = grown;
  }
  samples[sampleCount++] = ms;
}

function send(conn: Connection): void {
  const now = performance.now();
  if (now >= endAt || conn.socket.destroyed) return;
  conn.sentAt = now;
  conn.received = 0;
  conn.bad = false;
  conn.socket.write(message);
}

/** Saturated: at once. Paced: at the next free slot of the one schedule all connections share, as bench/paced.lua does for wrk. */
function sendNext(conn: Connection, now: number): void {
  if (interval === 0) {
    send(conn);
    return;
  }
  if (nextSlot < now - MAX_LAG_MS) nextSlot = now;
  nextSlot += interval;
  const wait = nextSlot - now;
  if (wait < 1) send(conn);
  else setTimeout(send, wait, conn);
}

function onData(conn: Connection, chunk: Buffer): void {
  const end = conn.received + chunk.length;
  // One message is in flight per connection: anything past it, or different from it, is a bad echo.
  if (end > bytes || !chunk.equals(message.subarray(conn.received, end))) conn.bad = true;
  conn.received = end;
  if (end < bytes) return;
  const now = performance.now();
  if (now > endAt) return;
  if (conn.bad) mismatches++;
  else record(now - conn.sentAt);
  sendNext(conn, now);
}

function open(): Promise<Connection | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: values.host, port, noDelay: true });
    const conn: Connection = { socket, received: 0, sentAt: 0, bad: false };
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), CONNECT_MS);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      resolve(conn);
    });
    socket.on('data', (chunk: Buffer) => onData(conn, chunk));
    socket.on('error', () => undefined);
    // A connection lost before the end is an error, whether it failed to connect or was closed mid-run.
    socket.on('close', () => {
      clearTimeout(timer);
      if (!connected) resolve(undefined);
      if (performance.now() < endAt) socketErrors++;
    });
  });
}

function finish(conns: readonly Connection[]): void {
  const elapsedMs = performance.now() - startAt;
  endAt = Math.min(endAt, performance.now());
  const sorted = samples.subarray(0, sampleCount).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const report: TcpLoadReport = {
    connections: conns.length,
    seconds: elapsedMs / 1000,
    roundTrips: sampleCount,
    roundTripsPerSec: sampleCount / (elapsedMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    meanMs: sampleCount === 0 ? Number.NaN : sum / sampleCount,
    mismatches,
    socketErrors,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`, () => {
    for (const conn of conns) conn.socket.destroy();
    process.exit(0);
  });
}

const opened = (await Promise.all(Array.from({ length: connections }, open))).filter((conn): conn is Connection => conn !== undefined);
if (opened.length === 0) {
  process.stderr.write(`no connection to ${values.host}:${port} could be made\n`);
  process.exit(1);
}
startAt = performance.now();
endAt = startAt + durationMs;
nextSlot = startAt;
for (const conn of opened) sendNext(conn, startAt);
setTimeout(() => finish(opened), durationMs);
