// Tests for following WebSocket frames in a tunnel and closing it at a frame boundary, checked by the `ws` package's own frame encoder and parser.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { WebSocketCloseGate, WebSocketFrameScanner, goingAwayFrame } from '../../src/transport/http1/websocket-frames.js';

/** The frame encoder and parser ws exports at run time, beyond what its type declarations cover. */
interface WsFrames {
  Sender: { frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] };
  Receiver: new (options: { isServer: boolean }) => Writable;
}
const { Sender, Receiver } = ws as unknown as WsFrames;

interface Frame {
  opcode: 1 | 2 | 9;
  payload: Buffer;
}

function encode(frame: Frame, masked: boolean): Buffer {
  return Buffer.concat(Sender.frame(frame.payload, { fin: true, rsv1: false, opcode: frame.opcode, mask: masked, readOnly: true }));
}

/** What a ws peer makes of a byte stream: the messages, and the close code if one came; throws on a protocol error. */
async function receive(bytes: Buffer, fromClient: boolean): Promise<{ messages: string[]; close: number | null }> {
  const receiver = new Receiver({ isServer: fromClient });
  const messages: string[] = [];
  let close: number | null = null;
  receiver.on('message', (data: Buffer) => messages.push(data.toString('latin1')));
  receiver.on('conclude', (code: number) => (close = code));
  await new Promise<void>((resolve, reject) => receiver.write(bytes, (err?: Error | null) => (err ? reject(err) : resolve())));
  return { messages, close };
}

/** Cuts bytes into chunks at the given points. */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of sorted) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const frame = fc.record({
  opcode: fc.constantFrom<1 | 2 | 9>(1, 2, 9),
  // Lengths on either side of the 7-bit and 16-bit length encodings.
  size: fc.oneof(fc.integer({ min: 0, max: 130 }), fc.integer({ min: 65_530, max: 65_540 })),
  fill: fc.integer({ min: 97, max: 122 }),
}).map(({ opcode, size, fill }): Frame => ({ opcode, payload: Buffer.alloc(opcode === 9 ? Math.min(size, 125) : size, fill) }));

describe('WebSocketCloseGate', () => {
  for (const masked of [true, false]) {
    it(`puts 1001 between frames wherever the drain falls, and nothing after it (${masked ? 'client to server' : 'server to client'})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), async (frames, points, drainAt) => {
          const wire = Buffer.concat(frames.map((f) => encode(f, masked)));
          const chunks = cut(wire, points);
          const gate = new WebSocketCloseGate(masked);
          const out: Buffer[] = [];
          const at = drainAt % (chunks.length + 1);
          chunks.forEach((chunk, i) => {
            if (i === at) out.push(gate.goAway() ?? Buffer.alloc(0));
            out.push(gate.pass(chunk));
          });
          if (at === chunks.length) out.push(gate.goAway() ?? Buffer.alloc(0));
          const seen = await receive(Buffer.concat(out), masked);
          expect(gate.broken).toBe(false);
          // Whole messages, in order, a prefix of those sent; then the close.
          const sent = frames.filter((f) => f.opcode !== 9).map((f) => f.payload.toString('latin1'));
          expect(sent.slice(0, seen.messages.length)).toEqual(seen.messages);
          expect(seen.close).toBe(1001);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('holds the close frame until the frame in progress ends, however the rest arrives', () => {
    const gate = new WebSocketCloseGate(false);
    const wire = encode({ opcode: 2, payload: Buffer.alloc(300, 1) }, false);
    expect(gate.pass(wire.subarray(0, 10))).toHaveLength(10);
    expect(gate.goAway()).toBeNull();
    // The frame's last 10 bytes go on, then the close frame; the next frame's start is dropped.
    const next = encode({ opcode: 1, payload: Buffer.from('late') }, false);
    const out = gate.pass(Buffer.concat([wire.subarray(10), next]));
    expect(out.subarray(0, wire.length - 10)).toEqual(wire.subarray(10));
    expect(out.subarray(wire.length - 10)).toEqual(goingAwayFrame(false));
    expect(gate.pass(Buffer.from('anything'))).toHaveLength(0);
  });

  it("sends none of its own where the peer's close already went, and carries the rest of it", () => {
    const gate = new WebSocketCloseGate(true);
    const close = Buffer.concat(Sender.frame(Buffer.from([0x03, 0xe8]), { fin: true, rsv1: false, opcode: 8, mask: true, readOnly: true }));
    expect(gate.pass(close.subarray(0, 7))).toHaveLength(7);
    expect(gate.goAway()).toBeNull();
    expect(gate.pass(close.subarray(7))).toEqual(close.subarray(7));
  });

  it('masks the close frame it sends toward a server with a fresh key, and ws reads 1001 from both kinds', async () => {
    expect((await receive(goingAwayFrame(true), true)).close).toBe(1001);
    expect((await receive(goingAwayFrame(false), false)).close).toBe(1001);
    expect(goingAwayFrame(true).subarray(2, 6)).not.toEqual(goingAwayFrame(true).subarray(2, 6));
  });
});

describe('WebSocketFrameScanner', () => {
  it('gives up on what no WebSocket peer sends, so the tunnel falls back to a plain end', () => {
    const cases: [string, Buffer, boolean][] = [
      ['a reserved opcode', Buffer.from([0x83, 0x00]), false],
      ['an unmasked frame from a client', Buffer.from([0x81, 0x00]), true],
      ['a masked frame from a server', Buffer.from([0x81, 0x80, 1, 2, 3, 4]), false],
      ['a fragmented ping', Buffer.from([0x09, 0x00]), false],
      ['a control frame over 125 bytes', Buffer.from([0x89, 126, 0, 200]), false],
      ['a length beyond 2^53', Buffer.from([0x82, 127, 0xff, 0, 0, 0, 0, 0, 0, 0]), false],
      ['plain text', Buffer.from('HELLO there\r\n'), true],
    ];
    for (const [what, bytes, masked] of cases) {
      const scanner = new WebSocketFrameScanner(masked);
      scanner.scan(bytes, 0, false);
      expect(scanner.broken, what).toBe(true);
      expect(scanner.atBoundary, what).toBe(false);
    }
    const gate = new WebSocketCloseGate(false);
    gate.pass(Buffer.from([0x83, 0x00]));
    expect(gate.broken).toBe(true);
  });

  it('reads a header split byte by byte', () => {
    const wire = encode({ opcode: 2, payload: Buffer.alloc(70_000) }, true);
    const scanner = new WebSocketFrameScanner(true);
    for (let i = 0; i < 20; i++) {
      scanner.scan(wire.subarray(i, i + 1), 0, false);
      expect(scanner.atBoundary).toBe(false);
    }
    scanner.scan(wire.subarray(20), 0, false);
    expect(scanner.atBoundary).toBe(true);
    expect(scanner.broken).toBe(false);
  });
});
