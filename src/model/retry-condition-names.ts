// Model: the named retry conditions of a policy, without zod, for the request path that reads them per attempt.

/**
 * Named retry conditions; a retry.on entry may also be an HTTP status code written as a string ("503"). The gRPC ones
 * (Envoy's names) retry a gRPC call answered with that status in a Trailers-Only reply, whatever its method.
 */
export const RETRY_CONDITIONS = ['connect-failure', 'reset', 'gateway-error', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'] as const;
/** The gRPC status code each gRPC retry condition stands for. */
export const GRPC_RETRY_CONDITIONS: Readonly<Partial<Record<string, number>>> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };
