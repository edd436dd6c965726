// Config: parses listen addresses written as HOST:PORT ("127.0.0.1:15001", "[::1]:0", ":8500").

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Returns the address, or a description of what was expected. */
export function parseListenAddress(text: string, defaultHost = '127.0.0.1'): ListenAddress | string {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return `expected HOST:PORT (e.g. 127.0.0.1:15001), got "${text}"`;
  const host = match[1] ?? (match[2] || defaultHost);
  const port = Number(match[3]);
  if (port > 65535) return `expected a port from 0 to 65535, got ${port}`;
  return { host, port };
}

export function formatAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
