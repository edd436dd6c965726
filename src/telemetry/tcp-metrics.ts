// Telemetry: the sidecar's TCP connections (opened, closed, open) and bytes, by direction, side and peer, bound per label set once.
import type { Socket } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ProxyDirection } from './proxy-metrics.js';

/** `downstream`: connections the sidecar's listeners accepted; `upstream`: connections the sidecar opened. */
export type TcpSide = 'downstream' | 'upstream';

/** The connections of one (direction, side, peer), followed from open to close. */
export interface TcpConnections {
  /** Counts the socket as opened and follows its bytes until it closes; bound, so it can be passed as a listener. */
  readonly track: (socket: Socket) => void;
}

export interface TcpMetrics {
  /** `peer` is a service name, or UNKNOWN_SERVICE where the other end is not known at connection level (the local app, a caller). */
  connections(direction: ProxyDirection, side: TcpSide, peer: string): TcpConnections;
}

type Labels = 'direction' | 'side' | 'peer';
type CounterChild = ReturnType<Counter<Labels>['labels']>;

interface Families {
  opened: Counter<Labels>;
  closed: Counter<Labels>;
  open: Gauge<Labels>;
  received: Counter<Labels>;
  sent: Counter<Labels>;
}

/** Bytes of a live socket already counted. */
interface Counted {
  read: number;
  written: number;
}

/**
 * Counts kept in plain numbers and handed to prom-client at scrape time. Bytes of live sockets are added at
 * every scrape, so a long-lived keep-alive connection's traffic shows while it lasts, not only when it closes.
 */
class BoundConnections implements TcpConnections {
  private readonly live = new Map<Socket, Counted>();
  private opened = 0;
  private closed = 0;
  private received = 0;
  private sent = 0;
  private readonly children: { opened: CounterChild; closed: CounterChild; received: CounterChild; sent: CounterChild; open: ReturnType<Gauge<Labels>['labels']> };

  constructor(f: Families, direction: ProxyDirection, side: TcpSide, peer: string) {
    this.children = {
      opened: f.opened.labels(direction, side, peer),
      closed: f.closed.labels(direction, side, peer),
      received: f.received.labels(direction, side, peer),
      sent: f.sent.labels(direction, side, peer),
      open: f.open.labels(direction, side, peer),
    };
    // Series exist from the start at 0, so that rates and the first connection's increase are seen.
    for (const child of [this.children.opened, this.children.closed, this.children.received, this.children.sent]) child.inc(0);
    this.children.open.set(0);
  }

  readonly track = (socket: Socket): void => {
    const counted: Counted = { read: socket.bytesRead, written: socket.bytesWritten };
    this.live.set(socket, counted);
    this.opened++;
    socket.once('close', () => {
      this.take(socket, counted);
      this.live.delete(socket);
      this.closed++;
    });
  };

  /** Adds what the socket read and wrote since last counted. */
  private take(socket: Socket, counted: Counted): void {
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    this.received += read - counted.read;
    this.sent += written - counted.written;
    counted.read = read;
    counted.written = written;
  }

  flush(): void {
    for (const [socket, counted] of this.live) this.take(socket, counted);
    const c = this.children;
    if (this.opened > 0) c.opened.inc(this.opened);
    if (this.closed > 0) c.closed.inc(this.closed);
    if (this.received > 0) c.received.inc(this.received);
    if (this.sent > 0) c.sent.inc(this.sent);
    c.open.set(this.live.size);
    this.opened = this.closed = this.received = this.sent = 0;
  }
}

/** Everything counted on one registry: the sidecar's servers and pools each ask for their label sets. */
interface RegistryState {
  readonly families: Families;
  readonly bound: Map<string, BoundConnections>;
}

const states = new WeakMap<Registry, RegistryState>();

function stateOf(registry: Registry): RegistryState {
  let state = states.get(registry);
  if (state !== undefined) return state;
  const bound = new Map<string, BoundConnections>();
  // Each family's scrape flushes every label set; flushing is idempotent, so the order families are read in does not matter.
  const collect = (): void => {
    for (const connections of bound.values()) connections.flush();
  };
  const registers = [registry];
  const labelNames = ['direction', 'side', 'peer'] as const;
  const families: Families = {
    opened: new Counter({ name: 'weft_proxy_tcp_connections_opened_total', help: 'TCP connections opened: accepted by a listener (downstream) or made by the sidecar (upstream).', labelNames, registers, collect }),
    closed: new Counter({ name: 'weft_proxy_tcp_connections_closed_total', help: 'TCP connections closed.', labelNames, registers, collect }),
    open: new Gauge({ name: 'weft_proxy_tcp_connections_open', help: 'TCP connections open right now.', labelNames, registers, collect }),
    received: new Counter({ name: 'weft_proxy_tcp_received_bytes_total', help: 'Bytes read from TCP connections, live ones included up to the scrape.', labelNames, registers, collect }),
    sent: new Counter({ name: 'weft_proxy_tcp_sent_bytes_total', help: 'Bytes written to TCP connections, live ones included up to the scrape.', labelNames, registers, collect }),
  };
  state = { families, bound };
  states.set(registry, state);
  return state;
}

export function createTcpMetrics(registry: Registry): TcpMetrics {
  const state = stateOf(registry);
  return {
    connections(direction, side, peer) {
      const key = `${direction}\0${side}\0${peer}`;
      let connections = state.bound.get(key);
      if (connections === undefined) state.bound.set(key, (connections = new BoundConnections(state.families, direction, side, peer)));
      return connections;
    },
  };
}
