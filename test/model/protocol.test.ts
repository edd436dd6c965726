// Model: the protocol of an instance — what a registration may name, and how stored records and watch events without one read.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/index.js';
import { endpointFromInstance, instanceRegistrationSchema, instanceSchema, parseOrThrow, PROTOCOLS, watchEventSchema } from '../../src/model/index.js';

const registration = (over: Record<string, unknown> = {}) => ({ service: 'greeter', host: '127.0.0.1', port: 8080, ...over });
const stored = { id: 'g-1', service: 'greeter', host: '127.0.0.1', port: 8080, weight: 1, meta: {}, tags: [], ttlMs: 10_000, health: 'passing' };

const refusedNaming = (field: string) => expect.objectContaining({ constructor: ValidationError, field });

describe('instance protocol', () => {
  it('takes each protocol as a field or as meta.protocol, http1 when neither names one', () => {
    expect(parseOrThrow(instanceRegistrationSchema, registration()).protocol).toBe('http1');
    for (const protocol of PROTOCOLS) {
      expect(parseOrThrow(instanceRegistrationSchema, registration({ protocol })).protocol).toBe(protocol);
      const viaMeta = parseOrThrow(instanceRegistrationSchema, registration({ meta: { protocol } }));
      expect(viaMeta).toMatchObject({ protocol, meta: { protocol } });
      expect(parseOrThrow(instanceRegistrationSchema, registration({ protocol, meta: { protocol } })).protocol).toBe(protocol);
    }
  });

  it('refuses an unknown protocol, or a field and meta that disagree, naming the field', () => {
    expect(() => parseOrThrow(instanceRegistrationSchema, registration({ protocol: 'http3' }))).toThrow(refusedNaming('protocol'));
    expect(() => parseOrThrow(instanceRegistrationSchema, registration({ protocol: null }))).toThrow(refusedNaming('protocol'));
    expect(() => parseOrThrow(instanceRegistrationSchema, registration({ meta: { protocol: 'h2c' } }))).toThrow(refusedNaming('meta.protocol'));
    expect(() => parseOrThrow(instanceRegistrationSchema, registration({ protocol: 'tcp', meta: { protocol: 'grpc' } }))).toThrow(refusedNaming('protocol'));
    // Other problems are reported first, as before the field existed.
    expect(() => parseOrThrow(instanceRegistrationSchema, registration({ port: 0, meta: { protocol: 'h2c' } }))).toThrow(refusedNaming('port'));
  });

  it('reads a stored record or a watch event without a protocol, or with one this build does not know, as http1', () => {
    expect(instanceSchema.parse(stored).protocol).toBe('http1');
    expect(instanceSchema.parse({ ...stored, protocol: 'quic' }).protocol).toBe('http1');
    expect(instanceSchema.parse({ ...stored, protocol: 'grpc' }).protocol).toBe('grpc');
    const upsert = watchEventSchema.parse({ type: 'upsert', version: 3, instance: stored });
    expect(upsert).toMatchObject({ type: 'upsert', instance: { id: 'g-1', protocol: 'http1' } });
    const reset = watchEventSchema.parse({ type: 'reset', version: 3, instances: [stored, { ...stored, id: 'g-2', protocol: 'tcp' }] });
    expect(reset.type === 'reset' && reset.instances.map((i) => i.protocol)).toEqual(['http1', 'tcp']);
  });

  it('reaches the endpoint the data plane sees', () => {
    expect(endpointFromInstance({ ...instanceSchema.parse(stored), protocol: 'grpc' }).protocol).toBe('grpc');
    expect(endpointFromInstance(instanceSchema.parse(stored)).protocol).toBe('http1');
  });
});
