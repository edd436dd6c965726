// Model: the names of the load-balancing algorithms, the one list of them; without zod, so that the CLI's --lb flag can check one cheaply.

/** Every algorithm weft has; balance/ keeps one factory per name in a table typed by this list. */
export const BALANCER_KIND_NAMES = ['round-robin', 'random', 'least-connections', 'p2c-ewma', 'weighted', 'ring-hash'] as const;
export type BalancerKind = (typeof BALANCER_KIND_NAMES)[number];
