// Model: the names of the load-balancing algorithms, as written in flags, config files and policies; the one list of them.
import { z } from 'zod';

/** Every algorithm weft has; balance/ keeps one factory per name in a table typed by this list. */
export const BALANCER_KIND_NAMES = ['round-robin', 'random', 'least-connections', 'p2c-ewma', 'weighted', 'ring-hash'] as const;
export type BalancerKind = (typeof BALANCER_KIND_NAMES)[number];

/** An algorithm name as a policy or a config file gives it. */
export const balancerKindSchema = z.enum(BALANCER_KIND_NAMES, { error: `expected one of: ${BALANCER_KIND_NAMES.join(', ')}` });
