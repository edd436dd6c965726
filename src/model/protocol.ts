// Model: the protocol an instance's port speaks, defined once for registrations, stored records, watch events and endpoints.
import { z } from 'zod';

export * from './protocol-names.js';
import { DEFAULT_PROTOCOL, PROTOCOL_EXPECTATION, PROTOCOLS } from './protocol-names.js';

/** A protocol as the APIs take it: one of PROTOCOLS, anything else refused. */
export const protocolSchema = z.enum(PROTOCOLS, { error: PROTOCOL_EXPECTATION });

/**
 * A protocol as a reader of stored records and watch events takes it: an older writer left it out, a newer one may
 * name a protocol this build does not know; both read as the default, so the instance is kept rather than dropped.
 */
export const storedProtocolSchema = protocolSchema.catch(DEFAULT_PROTOCOL);
