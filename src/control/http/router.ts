// Control HTTP: a tiny router — method plus path pattern with :params — so each route is one declared line.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ValidationError } from '../../core/index.js';
import type { Principal } from './principal.js';

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly url: URL;
  /** Who is calling, as proven by the request's credentials (see principal.ts). */
  readonly principal: Principal;
}

export interface JsonResult {
  readonly status: number;
  readonly body: unknown;
}

/** Returns the JSON reply, or undefined when the handler wrote the response itself (streams, metrics text). */
export type RouteHandler = (ctx: RouteContext) => Promise<JsonResult | undefined>;

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: string; readonly handler: RouteHandler; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly route: string; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' };

interface Route {
  readonly pattern: string;
  /** Literal segments as strings, parameters as { param }. */
  readonly segments: ReadonlyArray<string | { readonly param: string }>;
  readonly handlers: Map<string, RouteHandler>;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): this {
    let route = this.routes.find((r) => r.pattern === pattern);
    if (!route) {
      const segments = pattern
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : s));
      route = { pattern, segments, handlers: new Map() };
      this.routes.push(route);
    }
    route.handlers.set(method, handler);
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const parts = path.split('/').slice(1);
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      const handler = route.handlers.get(method) ?? (method === 'HEAD' ? route.handlers.get('GET') : undefined);
      if (!handler) return { kind: 'method-not-allowed', route: route.pattern, allow: [...route.handlers.keys()] };
      return { kind: 'found', route: route.pattern, handler, params };
    }
    return { kind: 'not-found' };
  }
}

function matchSegments(segments: Route['segments'], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (typeof segment === 'string') {
      if (segment !== part) return undefined;
      continue;
    }
    if (part === '') return undefined;
    try {
      params[segment.param] = decodeURIComponent(part);
    } catch {
      throw new ValidationError(segment.param, 'invalid percent-encoding in the path');
    }
  }
  return params;
}
