// Balance: load-balancing algorithms behind the Balancer/Picker contract, chosen by kind.
import { systemClock, type Clock, type Rng } from '../core/index.js';
import type { Balancer, BalancerKind } from './balancer.js';
import { LeastConnectionsBalancer } from './balancer-least-connections.js';
import { P2cEwmaBalancer } from './balancer-p2c-ewma.js';
import { RandomBalancer } from './balancer-random.js';
import { RingHashBalancer, type RingHashOptions } from './balancer-ring-hash.js';
import { RoundRobinBalancer } from './balancer-round-robin.js';
import { WeightedBalancer } from './balancer-weighted.js';
import type { PeakEwmaOptions } from './ewma.js';

export * from './balancer.js';
export { RoundRobinBalancer } from './balancer-round-robin.js';
export { RandomBalancer } from './balancer-random.js';
export { LeastConnectionsBalancer } from './balancer-least-connections.js';
export { P2cEwmaBalancer } from './balancer-p2c-ewma.js';
export { WeightedBalancer } from './balancer-weighted.js';
export { RingHashBalancer, RING_HASH_DEFAULTS, type RingHashOptions } from './balancer-ring-hash.js';
export { PeakEwma, PEAK_EWMA_DEFAULTS, type PeakEwmaOptions } from './ewma.js';
export { hash53 } from './hash.js';

/** Tuning for the algorithms that take any; every field has a default. */
export interface BalancerOptions {
  /** Time source of p2c-ewma's decay: pass the runtime's clock (the system clock otherwise). */
  readonly clock?: Clock;
  readonly peakEwma?: Partial<PeakEwmaOptions>;
  readonly ringHash?: Partial<RingHashOptions>;
}

/** A fresh balancer of the given kind; `service` names the service in NO_ENDPOINTS errors while it has no endpoints. */
export function createBalancer(kind: BalancerKind, rng: Rng, service = '', options: BalancerOptions = {}): Balancer {
  switch (kind) {
    case 'round-robin':
      return new RoundRobinBalancer(service);
    case 'random':
      return new RandomBalancer(rng, service);
    case 'least-connections':
      return new LeastConnectionsBalancer(service);
    case 'p2c-ewma':
      return new P2cEwmaBalancer(rng, options.clock ?? systemClock, service, options.peakEwma);
    case 'weighted':
      return new WeightedBalancer(service);
    case 'ring-hash':
      return new RingHashBalancer(rng, service, options.ringHash);
  }
}
