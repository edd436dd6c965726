// Transport/http1: keep-alive connection pools, one per endpoint address, retired when the endpoint leaves.
import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import type { Endpoint } from '../../model/index.js';

export interface PoolOptions {
  /** Idle sockets kept per endpoint. */
  maxFreeSockets?: number;
  /**
   * How long an idle socket is kept. Shorter than common server keep-alive timeouts (Node's 5 s, our
   * inbound 10 s) so that this side closes first and never reuses a socket the server is closing;
   * Node's agent also honours a shorter `Keep-Alive: timeout=N` hint from the server.
   */
  idleTimeoutMs?: number;
}

export const POOL_DEFAULTS = { maxFreeSockets: 256, idleTimeoutMs: 4_000 } as const;

/** An agent that stops keeping sockets once its endpoint is retired. */
class PoolAgent extends Agent {
  retired = false;

  override keepSocketAlive(socket: Socket): boolean {
    if (this.retired) return false;
    // Node's typings say void; the agent reads the boolean it returns (false when the server's hint is too short).
    return (super.keepSocketAlive(socket) as unknown as boolean) !== false;
  }
}

export class EndpointPool {
  readonly agent: Agent;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  private readonly poolAgent: PoolAgent;

  constructor(endpoint: Pick<Endpoint, 'host' | 'port' | 'address'>, options: PoolOptions = {}) {
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.address = endpoint.address;
    this.poolAgent = new PoolAgent({
      keepAlive: true,
      scheduling: 'lifo',
      maxFreeSockets: options.maxFreeSockets ?? POOL_DEFAULTS.maxFreeSockets,
      timeout: options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs,
    });
    this.agent = this.poolAgent;
  }

  /** Idle sockets now; busy ones close as their requests end, instead of going back to the pool. */
  retire(): void {
    this.poolAgent.retired = true;
    for (const sockets of Object.values(this.poolAgent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }

  /** Every socket now, busy ones included. */
  destroy(): void {
    this.poolAgent.retired = true;
    this.poolAgent.destroy();
  }

  /** Sockets open to the endpoint: [busy, idle]. */
  sockets(): [number, number] {
    let busy = 0;
    let idle = 0;
    for (const list of Object.values(this.poolAgent.sockets)) busy += list?.length ?? 0;
    for (const list of Object.values(this.poolAgent.freeSockets)) idle += list?.length ?? 0;
    return [busy, idle];
  }
}

/** The pools of one upstream service, keyed by endpoint address. */
export class EndpointPools {
  private readonly pools = new Map<string, EndpointPool>();
  constructor(private readonly options: PoolOptions = {}) {}

  get(endpoint: Endpoint): EndpointPool {
    let pool = this.pools.get(endpoint.address);
    if (pool === undefined) this.pools.set(endpoint.address, (pool = new EndpointPool(endpoint, this.options)));
    return pool;
  }

  /** Retires the pools of addresses no longer among `endpoints`. */
  retain(endpoints: readonly Endpoint[]): void {
    if (this.pools.size === 0) return;
    const live = new Set<string>();
    for (const endpoint of endpoints) live.add(endpoint.address);
    for (const [address, pool] of this.pools) {
      if (live.has(address)) continue;
      this.pools.delete(address);
      pool.retire();
    }
  }

  addresses(): string[] {
    return [...this.pools.keys()];
  }

  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
  }
}
