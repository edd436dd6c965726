// Tests for the sidecar's HTTP front under a bounded, seeded fuzz: mutated and ambiguous requests on raw sockets to the outbound and inbound listeners.
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createInboundServer } from '../../src/proxy/inbound-server.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { caseOfPath, caseTag, renderScript, script, SMUGGLED, type RenderedScript } from './http-front-grammar.js';
import { exchange, type WireExchange } from './http-wire.js';
import { instance, quietRuntime, snapshotsOf, startServer } from './request-path-fixtures.js';

const SEED = 20_250_611;
const RUNS = 300;
const TIME_LIMIT_MS = 4_000;
/** Fewer cases than this in the time limit would say more about the machine than the front: the run is then not a fuzz. */
const MIN_CASES = 60;
const WIRE = { quietMs: 100, capMs: 1_500, gapMs: 1 } as const;
/** Whether bytes read as HTTP/2 frames from the start hold a GOAWAY (type 7). */
function hasGoawayFrame(received: Buffer): boolean {
  for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) if (received[at + 3] === 0x7) return true;
  return false;
}

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly body: string;
  /** The case that was running when the app was handed the request, for requests whose path names none. */
  readonly during: number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const summaries: string[] = [];
afterAll(() => {
  // One line per listener, so that a reader sees what the fuzz provoked.
  if (summaries.length > 0) console.log(`http front fuzz (seed ${SEED}):\n${summaries.join('\n')}`);
});

interface Front {
  readonly port: number;
  readonly seen: Seen[];
  /** The case under way; the app files what it is handed under it. */
  current: number;
}

/** A real app that records all it is handed and answers with the method and target it read, so that a reply shows whose request it answers. */
async function recordingApp(front: { seen: Seen[]; current: number }): Promise<number> {
  const app = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      front.seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('latin1'), during: front.current });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url}`);
    });
  });
  cleanups.push(() => app.close());
  return app.port;
}

async function outboundFront(): Promise<Front> {
  const front = { port: 0, seen: [] as Seen[], current: 0 };
  const appPort = await recordingApp(front);
  const server = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('greeter-1', appPort)]) });
  front.port = (await server.listen('127.0.0.1', 0)).port;
  cleanups.push(() => server.close(0));
  return front;
}

async function inboundFront(): Promise<Front> {
  const front = { port: 0, seen: [] as Seen[], current: 0 };
  const appPort = await recordingApp(front);
  const server = createInboundServer({ runtime: quietRuntime(), appPort, service: 'greeter', mtls: { mode: 'disabled' } });
  front.port = (await server.listen('127.0.0.1', 0)).port;
  cleanups.push(() => server.close(0));
  return front;
}

/** Replies counted by status, and the connections that got none. */
class Tally {
  private readonly counts = new Map<string, number>();
  cases = 0;

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  toString(): string {
    const keys = [...this.counts.keys()].sort();
    return keys.map((k) => `${k}=${this.counts.get(k)}`).join(' ');
  }
}

function hasControl(text: string): boolean {
  return /[\r\n\0]/.test(text);
}

/** What every reply on one connection must be, whatever the client sent. */
function checkReplies(wire: WireExchange, rendered: RenderedScript, tally: Tally, id: number): void {
  if (wire.malformed !== null) {
    // Only an HTTP/2 preface is answered in another protocol than HTTP/1.1: the connection is HTTP/2 from there, and
    // what followed it (HTTP/1.1 text) is no HTTP/2, so the listener's frames end in a GOAWAY the client can read.
    expect(hasGoawayFrame(wire.received), `malformed reply (${wire.malformed}) to ${rendered.units.map((u) => u.label).join(', ')}`).toBe(true);
    tally.add('goaway');
  }
  if (wire.replies.length === 0 && wire.malformed === null) tally.add('none');
  for (const reply of wire.replies) {
    tally.add(String(reply.status));
    const code = reply.headers.get('x-weft-error');
    // A client's bad input must never look like the proxy's own failure, nor (the app is up throughout) like the app's.
    expect(code, `${reply.status} ${reply.body.toString('latin1')}`).not.toBe('INTERNAL');
    if (reply.status >= 500) expect([501, 503].includes(reply.status) && (code === 'NOT_IMPLEMENTED' || code === 'NO_ENDPOINTS'), `${reply.status} ${reply.body.toString('latin1')}`).toBe(true);
    if (reply.status === 200) {
      // A 200 answers a request of this very case: one of another case would be a reply handed to the wrong client.
      const echoed = reply.body.toString('latin1').split(' ')[1] ?? '';
      const owner = caseOfPath(echoed);
      if (owner !== undefined) expect(owner, `a reply to case ${owner} on the connection of case ${id}`).toBe(id);
    }
  }
}

/** What the app was handed for one case: never a smuggled request, never a broken header, never more than the client sent. */
function checkApp(seen: readonly Seen[], rendered: RenderedScript, id: number): void {
  for (const s of seen) {
    expect(s.url, `the app was handed ${s.method} ${s.url}`).not.toContain(SMUGGLED);
    for (const field of s.rawHeaders) expect(hasControl(field), JSON.stringify(field)).toBe(false);
    const names = s.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    // The app is never handed a framing it could read two ways.
    expect(names.filter((n) => n === 'content-length').length, JSON.stringify(s.rawHeaders)).toBeLessThanOrEqual(1);
    expect(names.includes('content-length') && names.includes('transfer-encoding'), JSON.stringify(s.rawHeaders)).toBe(false);
  }
  expect(seen.length, `case ${id}: ${rendered.units.map((u) => u.label).join(', ')}`).toBeLessThanOrEqual(rendered.units.length);
}

/** A connection whose units the grammar left intact is served in full: a 200 per unit, in order, and the app sees exactly what was sent. */
function checkIntact(wire: WireExchange, seen: readonly Seen[], rendered: RenderedScript): void {
  const finals = wire.replies.filter((r) => r.status >= 200);
  expect(finals.map((r) => r.status)).toEqual(rendered.units.map(() => 200));
  rendered.units.forEach((u, i) => {
    const expected = u.expected!;
    expect(finals[i]!.body.toString('latin1')).toBe(`${expected.method} ${expected.path}`);
    const got = seen.find((s) => s.url === expected.path);
    expect(got, expected.path).toBeDefined();
    expect(got!.body).toBe(expected.body);
    const raw = got!.rawHeaders;
    for (const [name, value] of expected.headers) {
      const present = raw.some((field, j) => j % 2 === 0 && field.toLowerCase() === name.toLowerCase() && raw[j + 1] === value);
      expect(present, `${name}: ${JSON.stringify(value)} in ${JSON.stringify(raw)}`).toBe(true);
    }
  });
  expect(seen.length).toBe(rendered.units.length);
}

/** The listener still serves: a plain request after the case is answered 200 by the app, with its own target. */
async function checkStillServing(front: Front, id: number): Promise<void> {
  const path = `/${caseTag(id)}/probe`;
  const wire = await exchange(front.port, [Buffer.from(`GET ${path} HTTP/1.1\r\nHost: greeter\r\nConnection: close\r\n\r\n`)], { ...WIRE, finalReplies: 1, quietMs: 1_000, capMs: 3_000 });
  expect(wire.replies.map((r) => [r.status, r.body.toString('latin1')])).toEqual([[200, `GET ${path}`]]);
}

async function fuzz(name: string, front: Front): Promise<Tally> {
  const tally = new Tally();
  let next = 0;
  const property = fc.asyncProperty(script, async (s) => {
    const id = ++next;
    front.current = id;
    tally.cases++;
    const rendered = renderScript(s, id);
    const intact = rendered.units.every((u) => u.expected !== null);
    const wire = await exchange(front.port, rendered.pieces, { ...WIRE, finalReplies: s.units.length, ...(intact ? { quietMs: 1_000 } : {}) });
    checkReplies(wire, rendered, tally, id);
    await checkStillServing(front, id);
    const mine = front.seen.filter((r) => (caseOfPath(r.url) ?? r.during) === id && !r.url.endsWith('/probe'));
    checkApp(mine, rendered, id);
    if (intact) checkIntact(wire, mine, rendered);
  });
  await fc.assert(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false });
  // Requests the app was handed after their case was checked are checked here.
  await new Promise((r) => setTimeout(r, 100));
  for (const s of front.seen) expect(s.url, `${name}: the app was handed ${s.method} ${s.url}`).not.toContain(SMUGGLED);
  summaries.push(`  ${name}: ${tally.cases} cases; replies by status: ${tally.toString()}`);
  return tally;
}

describe('sidecar HTTP front under a seeded fuzz of request heads and bodies', () => {
  it('the outbound listener stays up, smuggles nothing to the app and never answers bad input with INTERNAL', async () => {
    const tally = await fuzz('outbound', await outboundFront());
    expect(tally.cases).toBeGreaterThanOrEqual(MIN_CASES);
  });

  it('the inbound listener (mTLS disabled) stays up, smuggles nothing to the app and never answers bad input with INTERNAL', async () => {
    const tally = await fuzz('inbound', await inboundFront());
    expect(tally.cases).toBeGreaterThanOrEqual(MIN_CASES);
  });
});

describe('sidecar HTTP front: what the fuzz found, kept as plain cases', () => {
  const smuggled = `GET ${SMUGGLED}/ HTTP/1.1\r\nHost: greeter\r\n\r\n`;

  async function bothFronts(): Promise<[string, Front][]> {
    return [
      ['outbound', await outboundFront()],
      ['inbound', await inboundFront()],
    ];
  }

  it('refuses Transfer-Encoding in HTTP/1.0 (faulty framing) with 400, closes, and passes on nothing that followed on the connection', async () => {
    for (const [name, front] of await bothFronts()) {
      const text = `POST /old HTTP/1.0\r\nHost: greeter\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`;
      const wire = await exchange(front.port, [Buffer.from(text)], { ...WIRE, finalReplies: 2 });
      expect(wire.replies.map((r) => [r.status, r.headers.get('x-weft-error')]), name).toEqual([[400, 'BAD_REQUEST']]);
      expect(wire.closedByServer, name).toBe(true);
      expect(front.seen, name).toEqual([]);
    }
  });

  it('passes on nothing that follows a refused WebSocket upgrade on its connection', async () => {
    for (const [name, front] of await bothFronts()) {
      const text = `GET /chat HTTP/1.1\r\nHost: greeter\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n${smuggled}`;
      const wire = await exchange(front.port, [Buffer.from(text)], { ...WIRE, finalReplies: 2 });
      expect(wire.replies.map((r) => r.status), name).toEqual([501]);
      expect(wire.closedByServer, name).toBe(true);
      expect(front.seen, name).toEqual([]);
    }
  });

  it('refuses a Host or absolute-form authority that is not host[:port] with 400, rather than blaming the app with a 503', async () => {
    for (const [name, front] of await bothFronts()) {
      for (const head of ['GET http://[::1/x HTTP/1.1\r\nHost: greeter', 'GET /x HTTP/1.1\r\nHost: [::1', 'GET /x HTTP/1.1\r\nHost: greeter other']) {
        const wire = await exchange(front.port, [Buffer.from(`${head}\r\nConnection: close\r\n\r\n`)], { ...WIRE, finalReplies: 1 });
        expect(wire.replies.map((r) => [r.status, r.headers.get('x-weft-error')]), `${name}: ${head}`).toEqual([[400, 'BAD_REQUEST']]);
      }
      expect(front.seen, name).toEqual([]);
    }
  });
});
