// Model: the load-balancing algorithm names as written in flags, config files and policies, and their schema.
import { z } from 'zod';
import { BALANCER_KIND_NAMES } from './balancer-kind-names.js';

export { BALANCER_KIND_NAMES, type BalancerKind } from './balancer-kind-names.js';

/** An algorithm name as a policy or a config file gives it. */
export const balancerKindSchema = z.enum(BALANCER_KIND_NAMES, { error: `expected one of: ${BALANCER_KIND_NAMES.join(', ')}` });
