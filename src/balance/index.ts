// Balance: load-balancing algorithms behind the Balancer/Picker contract, chosen by kind.
import { systemClock, type Rng } from '../core/index.js';
import type { Balancer, BalancerKind } from './balancer.js';
import { BALANCER_TABLE, type BalancerOptions } from './balancer-table.js';

export * from './balancer.js';
export { RoundRobinBalancer } from './balancer-round-robin.js';
export { RandomBalancer } from './balancer-random.js';
export { LeastConnectionsBalancer } from './balancer-least-connections.js';
export { P2cEwmaBalancer } from './balancer-p2c-ewma.js';
export { WeightedBalancer } from './balancer-weighted.js';
export { RingHashBalancer, RING_HASH_DEFAULTS, type RingHashOptions } from './balancer-ring-hash.js';
export { PeakEwma, PEAK_EWMA_DEFAULTS, type PeakEwmaOptions } from './ewma.js';
export { hash53 } from './hash.js';
export { BALANCER_TABLE, type BalancerFactory, type BalancerInputs, type BalancerOptions } from './balancer-table.js';

/** A fresh balancer of the given kind; `service` names the service in NO_ENDPOINTS errors while it has no endpoints. */
export function createBalancer(kind: BalancerKind, rng: Rng, service = '', options: BalancerOptions = {}): Balancer {
  return BALANCER_TABLE[kind]({ rng, clock: options.clock ?? systemClock, service, options });
}
