// Transport: the pools of one upstream service, one per endpoint address, in the protocol each endpoint speaks.
import { speaksHttp2, type Endpoint } from '../model/index.js';
import type { Connector } from './connector.js';
import { EndpointPool, type PoolOptions } from './http1/endpoint-pool.js';
import { Http2EndpointPool, type UpstreamPool } from './http2/client-pool.js';

/** An HTTP/2 session for endpoints that speak HTTP/2 or gRPC, keep-alive HTTP/1.1 connections for the rest. */
export function poolFor(endpoint: Pick<Endpoint, 'host' | 'port' | 'address' | 'protocol'>, options: PoolOptions): UpstreamPool {
  return speaksHttp2(endpoint.protocol) ? new Http2EndpointPool(endpoint, options) : new EndpointPool(endpoint, options);
}

export class EndpointPools {
  private readonly pools = new Map<string, UpstreamPool>();
  constructor(
    private readonly options: PoolOptions = {},
    /** The connector of one endpoint's pool (mTLS expecting that endpoint's identity); absent: `options.connect` or plain TCP. */
    private readonly connectFor?: (endpoint: Endpoint) => Connector,
  ) {}

  get(endpoint: Endpoint): UpstreamPool {
    let pool = this.pools.get(endpoint.address);
    if (pool === undefined) {
      const options = this.connectFor ? { ...this.options, connect: this.connectFor(endpoint) } : this.options;
      this.pools.set(endpoint.address, (pool = poolFor(endpoint, options)));
    }
    return pool;
  }

  /** Retires every pool: idle sockets now, busy ones as their requests end (the set is being replaced). */
  retireAll(): void {
    for (const pool of this.pools.values()) pool.retire();
    this.pools.clear();
  }

  /** Retires the pools of addresses no longer among `endpoints`, or whose endpoint now speaks another protocol. */
  retain(endpoints: readonly Endpoint[]): void {
    if (this.pools.size === 0) return;
    const live = new Map<string, Endpoint>();
    for (const endpoint of endpoints) live.set(endpoint.address, endpoint);
    for (const [address, pool] of this.pools) {
      const endpoint = live.get(address);
      if (endpoint !== undefined && speaksHttp2(endpoint.protocol) === pool instanceof Http2EndpointPool) continue;
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
