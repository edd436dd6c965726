// Model: the protocols an instance's port may speak, without zod, for the CLI's flags and help and for every reader.

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

/** Spoken over HTTP/2: dialled with prior knowledge in plaintext, or with ALPN `h2` under mTLS. */
export function speaksHttp2(protocol: Protocol): boolean {
  return protocol === 'http2' || protocol === 'grpc';
}
