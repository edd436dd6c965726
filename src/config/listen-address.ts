// Config: parses listen addresses written as HOST:PORT ("127.0.0.1:15001", "[::1]:0", ":8500").
// Not the model barrel: the CLI parses --listen and --inbound with this, and must not load zod for it.
import { checkHost, formatHostPort } from '../model/host-syntax.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Returns the address, or a description of what was expected. */
export function parseListenAddress(text: string, defaultHost = '127.0.0.1'): ListenAddress | string {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return `expected HOST:PORT (e.g. 127.0.0.1:15001), got "${text}"`;
  const host = checkHost(match[1] ?? (match[2] || defaultHost));
  if (!host.ok) return `${host.reason}, in "${text}"`;
  const port = Number(match[3]);
  if (port > 65535) return `expected a port from 0 to 65535, got ${port}`;
  return { host: host.host, port };
}

export function formatAddress(address: ListenAddress): string {
  return formatHostPort(address.host, address.port);
}
