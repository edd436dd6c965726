// Test support: a Fluent forward-protocol receiver on 127.0.0.1 (Message, Forward, PackedForward and compressed modes, acks), decoded with @msgpack/msgpack.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ExtensionCodec, decodeMulti, decodeMultiStream, encode } from '@msgpack/msgpack';

export interface FluentEvent {
  tag: string;
  /** Seconds since the epoch, with the nanoseconds of an EventTime as a fraction. */
  time: number;
  record: Record<string, unknown>;
}

export interface FluentReceiver {
  readonly port: number;
  /** Every event decoded so far, in arrival order (a resent chunk appears again). */
  readonly events: FluentEvent[];
  /** How many messages of each mode arrived. */
  readonly modes: Record<'message' | 'forward' | 'packed' | 'compressed', number>;
  /** Stops listening and drops every connection, as a receiver that goes down would. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Forward protocol EventTime: ext type 0, seconds and nanoseconds as two big-endian uint32. */
const codec = new ExtensionCodec();
codec.register({
  type: 0,
  encode: () => null,
  decode: (data: Uint8Array) => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return view.getUint32(0) + view.getUint32(4) / 1e9;
  },
});

function entriesOf(tag: string, entries: Iterable<unknown>, into: FluentEvent[]): void {
  for (const entry of entries) {
    const [time, record] = entry as [number, Record<string, unknown>];
    into.push({ tag, time, record });
  }
}

export async function startFluentReceiver(options: { port?: number; ack?: boolean } = {}): Promise<FluentReceiver> {
  const events: FluentEvent[] = [];
  const modes = { message: 0, forward: 0, packed: 0, compressed: 0 };
  const sockets = new Set<Socket>();
  const ack = options.ack ?? true;
  let server: Server | null = null;
  let port = options.port ?? 0;

  async function serve(socket: Socket): Promise<void> {
    for await (const message of decodeMultiStream(socket, { extensionCodec: codec })) {
      if (!Array.isArray(message) || typeof message[0] !== 'string') throw new Error('not a forward-protocol message');
      const tag = message[0];
      const second: unknown = message[1];
      let option: Record<string, unknown> | undefined;
      if (Array.isArray(second)) {
        modes.forward++;
        entriesOf(tag, second, events);
        option = message[2] as Record<string, unknown> | undefined;
      } else if (second instanceof Uint8Array) {
        option = message[2] as Record<string, unknown> | undefined;
        const compressed = option?.['compressed'] === 'gzip';
        modes[compressed ? 'compressed' : 'packed']++;
        entriesOf(tag, decodeMulti(compressed ? gunzipSync(second) : second, { extensionCodec: codec }), events);
      } else {
        modes.message++;
        events.push({ tag, time: second as number, record: message[2] as Record<string, unknown> });
        option = message[3] as Record<string, unknown> | undefined;
      }
      const chunk = option?.['chunk'];
      if (ack && typeof chunk === 'string' && !socket.destroyed) socket.write(encode({ ack: chunk }));
    }
  }

  async function listen(): Promise<void> {
    const s = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      serve(socket).catch(() => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  }

  async function stop(): Promise<void> {
    const s = server;
    server = null;
    if (s === null) return;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  await listen();
  return {
    get port() {
      return port;
    },
    events,
    modes,
    stop,
    restart: listen,
    close: stop,
  };
}
