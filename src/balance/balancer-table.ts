// Balance: the one table from an algorithm's name to the factory of its balancer; a name without an entry does not compile.
import type { Clock, Rng } from '../core/index.js';
import type { BalancerKind } from '../model/index.js';
import type { Balancer } from './balancer.js';
import { LeastConnectionsBalancer } from './balancer-least-connections.js';
import { P2cEwmaBalancer } from './balancer-p2c-ewma.js';
import { RandomBalancer } from './balancer-random.js';
import { RingHashBalancer, type RingHashOptions } from './balancer-ring-hash.js';
import { RoundRobinBalancer } from './balancer-round-robin.js';
import { WeightedBalancer } from './balancer-weighted.js';
import type { PeakEwmaOptions } from './ewma.js';

/** Tuning for the algorithms that take any; every field has a default. */
export interface BalancerOptions {
  /** Time source of p2c-ewma's decay: pass the runtime's clock (the system clock otherwise). */
  readonly clock?: Clock;
  readonly peakEwma?: Partial<PeakEwmaOptions>;
  readonly ringHash?: Partial<RingHashOptions>;
}

/** What every factory gets, whether its algorithm uses it or not. */
export interface BalancerInputs {
  readonly rng: Rng;
  readonly clock: Clock;
  /** Named in NO_ENDPOINTS errors while the service has no endpoints. */
  readonly service: string;
  readonly options: BalancerOptions;
}

export type BalancerFactory = (inputs: BalancerInputs) => Balancer;

/** Mapped over BalancerKind: adding a name to the model's list without a factory here is a compile error, as is a stray entry. */
export const BALANCER_TABLE: { readonly [K in BalancerKind]: BalancerFactory } = {
  'round-robin': ({ service }) => new RoundRobinBalancer(service),
  random: ({ rng, service }) => new RandomBalancer(rng, service),
  'least-connections': ({ service }) => new LeastConnectionsBalancer(service),
  'p2c-ewma': ({ rng, clock, service, options }) => new P2cEwmaBalancer(rng, clock, service, options.peakEwma),
  weighted: ({ service }) => new WeightedBalancer(service),
  'ring-hash': ({ rng, service, options }) => new RingHashBalancer(rng, service, options.ringHash),
};
