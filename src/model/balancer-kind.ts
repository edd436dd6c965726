// Model: the names of the load-balancing algorithms, as written in flags, config files and policies.
export const BALANCER_KIND_NAMES = ['round-robin', 'random', 'least-connections', 'p2c-ewma', 'weighted', 'ring-hash'] as const;
export type BalancerKind = (typeof BALANCER_KIND_NAMES)[number];
