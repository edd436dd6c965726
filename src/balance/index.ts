// Balance: load-balancing algorithms behind the Balancer/Picker contract, chosen by kind.
import type { Rng } from '../core/index.js';
import type { Balancer, BalancerKind } from './balancer.js';
import { LeastConnectionsBalancer } from './balancer-least-connections.js';
import { RandomBalancer } from './balancer-random.js';
import { RoundRobinBalancer } from './balancer-round-robin.js';

export * from './balancer.js';
export { RoundRobinBalancer } from './balancer-round-robin.js';
export { RandomBalancer } from './balancer-random.js';
export { LeastConnectionsBalancer } from './balancer-least-connections.js';

/** A fresh balancer of the given kind; `service` names the service in NO_ENDPOINTS errors while it has no endpoints. */
export function createBalancer(kind: BalancerKind, rng: Rng, service = ''): Balancer {
  switch (kind) {
    case 'round-robin':
      return new RoundRobinBalancer(service);
    case 'random':
      return new RandomBalancer(rng, service);
    case 'least-connections':
      return new LeastConnectionsBalancer(service);
  }
}
