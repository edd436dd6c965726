// Control HTTP: writes JSON replies, always with content-type application/json and the registry version header.
import type { ServerResponse } from 'node:http';

export const VERSION_HEADER = 'x-weft-version';

export function sendJson(res: ServerResponse, status: number, body: unknown, version: number, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    [VERSION_HEADER]: String(version),
  });
  res.end(text);
}
