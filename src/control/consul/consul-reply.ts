// Consul API: replies as Consul writes them — JSON with X-Consul-Index on success, a plain-text message with a Consul-like status on failure.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { rescue, type RouteContext, type RouteHandler } from '../http/index.js';

export const CONSUL_INDEX_HEADER = 'x-consul-index';

export interface ConsulResult {
  readonly body: unknown;
  readonly status?: number;
  /** Sent as X-Consul-Index (list endpoints, so that clients can block on it). */
  readonly index?: number;
}

export type ConsulHandler = (ctx: RouteContext) => Promise<ConsulResult>;

export function sendConsulJson(res: ServerResponse, status: number, body: unknown, index?: number): void {
  // Consul answers writes with an empty body; the npm client decodes only a non-empty one.
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (index !== undefined) {
    headers[CONSUL_INDEX_HEADER] = String(index);
    headers['x-consul-knownleader'] = 'true';
    headers['x-consul-lastcontact'] = '0';
  }
  res.writeHead(status, headers);
  res.end(text);
}

/** Consul's errors are plain text, which the npm client turns into the error's message. */
export function sendConsulError(res: ServerResponse, status: number, message: string, closeConnection = false): void {
  const text = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(closeConnection ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/**
 * Adapts a Consul handler to the shared router: it writes its own reply, so weft's JSON error shape never reaches a
 * Consul client. The server's error path never sees these errors, so `failed` is told of each one instead.
 */
export function consulRoute(handler: ConsulHandler, logger: Logger, failed: (error: unknown) => void = () => undefined): RouteHandler {
  return async (ctx) => {
    try {
      const result = await handler(ctx);
      if (!ctx.res.headersSent && !ctx.res.destroyed) sendConsulJson(ctx.res, result.status ?? 200, result.body, result.index);
    } catch (error) {
      failed(error);
      const reply = rescue(error, logger);
      if (ctx.res.headersSent || ctx.res.destroyed) return undefined;
      sendConsulError(ctx.res, reply.status, reply.body.message, reply.closeConnection);
    }
    return undefined;
  };
}
