// Model: a registered instance of a service, its registration body and the one place its defaults live.
import { z } from 'zod';
import { hostSchema, portSchema } from './net-values.js';
import { DEFAULT_PROTOCOL, isProtocol, PROTOCOL_EXPECTATION, PROTOCOL_META_KEY, protocolSchema, storedProtocolSchema, type Protocol } from './protocol.js';
import { SERVICE_NAME } from './service-name.js';

export { SERVICE_NAME };

export type Health = 'passing' | 'critical';

export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export const INSTANCE_DEFAULTS = {
  weight: 1,
  ttlMs: 10_000,
  protocol: DEFAULT_PROTOCOL,
} as const;

/**
 * A registration body. The protocol may come as `protocol`, as `meta.protocol` (the only place a Consul registration
 * has for it), or both when they agree; either is checked against PROTOCOLS, and the output always names one.
 */
export const instanceRegistrationSchema = z
  .strictObject({
    id: z.string().regex(INSTANCE_ID, 'expected 1-128 characters of [A-Za-z0-9._:@-], starting alphanumeric').optional(),
    service: z.string().regex(SERVICE_NAME, 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters'),
    host: hostSchema,
    port: portSchema,
    protocol: protocolSchema.optional(),
    weight: z.number().int('expected an integer').min(1, 'expected 1-10000').max(10_000, 'expected 1-10000').default(INSTANCE_DEFAULTS.weight),
    meta: z.record(z.string().max(128), z.string().max(512, 'expected at most 512 characters')).default({}),
    tags: z.array(z.string().min(1, 'expected a non-empty tag').max(128, 'expected at most 128 characters')).max(64, 'expected at most 64 tags').default([]),
    ttlMs: z.number().int('expected an integer').min(1000, 'expected at least 1000 ms').max(3_600_000, 'expected at most 3600000 ms').default(INSTANCE_DEFAULTS.ttlMs),
  })
  .superRefine((registration, ctx) => {
    const named = registration.meta[PROTOCOL_META_KEY];
    if (named === undefined) return;
    if (!isProtocol(named)) ctx.addIssue({ code: 'custom', path: ['meta', PROTOCOL_META_KEY], message: PROTOCOL_EXPECTATION });
    else if (registration.protocol !== undefined && registration.protocol !== named) {
      ctx.addIssue({ code: 'custom', path: ['protocol'], message: `"${registration.protocol}" disagrees with meta.protocol ("${named}"): give one of them, or the same in both` });
    }
  })
  .transform((registration) => ({ ...registration, protocol: registration.protocol ?? metaProtocol(registration.meta) }));

/** The protocol `meta` names (already checked by the schema), else the default. */
function metaProtocol(meta: Readonly<Record<string, string>>): Protocol {
  const named = meta[PROTOCOL_META_KEY];
  return isProtocol(named) ? named : INSTANCE_DEFAULTS.protocol;
}

export type InstanceRegistrationInput = z.input<typeof instanceRegistrationSchema>;
export type InstanceRegistration = z.output<typeof instanceRegistrationSchema>;

/** An instance as the registry stores and publishes it. */
export interface Instance {
  readonly id: string;
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** What the port speaks; records written before the field existed read as 'http1'. */
  readonly protocol: Protocol;
  readonly meta: Readonly<Record<string, string>>;
  /** Free-form labels (Consul tags); not used for routing. */
  readonly tags: readonly string[];
  readonly ttlMs: number;
  readonly health: Health;
  /** Why the instance is critical, when it is ("ttl expired", "app down"...). */
  readonly healthReason?: string;
}

export const instanceSchema = z.object({
  id: z.string(),
  service: z.string(),
  host: z.string(),
  port: z.number().int(),
  weight: z.number().int(),
  protocol: storedProtocolSchema,
  meta: z.record(z.string(), z.string()),
  tags: z.array(z.string()).default([]),
  ttlMs: z.number().int(),
  health: z.enum(['passing', 'critical']),
  healthReason: z.string().optional(),
});

export const heartbeatSchema = z.strictObject({
  status: z.enum(['passing', 'critical']).default('passing'),
  reason: z.string().max(256).optional(),
});
export type Heartbeat = z.output<typeof heartbeatSchema>;

/**
 * Meta keys under which the control plane keeps the Consul checks it runs for an instance (their URLs and headers,
 * which may carry credentials). They are the control plane's own: replies and watch events leave them out.
 */
export const CHECK_RECORD_META_PREFIX = 'consul-check-';

/** The instance as readers outside the control plane see it: without its check records (the same object when it has none). */
export function withoutCheckRecords(instance: Instance): Instance {
  let meta: Record<string, string> | undefined;
  for (const key in instance.meta) {
    if (!key.startsWith(CHECK_RECORD_META_PREFIX)) continue;
    meta ??= { ...instance.meta };
    delete meta[key];
  }
  return meta === undefined ? instance : { ...instance, meta };
}
