// Model: the protocol an instance's port speaks, defined once for registrations, stored records, watch events and endpoints.
import { z } from 'zod';

/** HTTP/1.1, HTTP/2 (cleartext with prior knowledge, or ALPN under TLS), gRPC (over HTTP/2), or raw TCP. */
export const PROTOCOLS = ['http1', 'http2', 'grpc', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** What an instance speaks when nobody said: every instance did before the field existed. */
export const DEFAULT_PROTOCOL: Protocol = 'http1';

/** The metadata key a registration may name its protocol under; the Consul API has no other place for it. */
export const PROTOCOL_META_KEY = 'protocol';

export const PROTOCOL_EXPECTATION = `expected one of: ${PROTOCOLS.join(', ')}`;

export function isProtocol(value: unknown): value is Protocol {
  return typeof value === 'string' && (PROTOCOLS as readonly string[]).includes(value);
}

/** A protocol as the APIs take it: one of PROTOCOLS, anything else refused. */
export const protocolSchema = z.enum(PROTOCOLS, { error: PROTOCOL_EXPECTATION });

/**
 * A protocol as a reader of stored records and watch events takes it: an older writer left it out, a newer one may
 * name a protocol this build does not know; both read as the default, so the instance is kept rather than dropped.
 */
export const storedProtocolSchema = protocolSchema.catch(DEFAULT_PROTOCOL);
