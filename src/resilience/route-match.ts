// Resilience: route matching — the first route whose headers and path prefix match the request decides its backends.
import type { HeaderBag } from './deadline.js';

export interface RouteMatch {
  /** Header name → exact value; every listed header must match (names are case-insensitive). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A plain string prefix of the request path ("/api" also matches "/apiary", as in Envoy). */
  readonly pathPrefix?: string;
}

interface CompiledRoute<R> {
  readonly route: R;
  readonly headers: readonly (readonly [name: string, value: string])[];
  readonly pathPrefix: string;
}

/**
 * Built once per policy. Routes are tried in order and the first match wins; a route without `match` matches every
 * request. The lead's request path passes Node's lower-cased header object as it is.
 */
export class RouteTable<R extends { readonly match?: RouteMatch }> {
  private readonly compiled: readonly CompiledRoute<R>[];

  constructor(routes: readonly R[]) {
    this.compiled = routes.map((route) => ({
      route,
      headers: Object.entries(route.match?.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const),
      pathPrefix: route.match?.pathPrefix ?? '',
    }));
  }

  /** The first route matching the request, or undefined. */
  match(path: string, headers: HeaderBag): R | undefined {
    for (const candidate of this.compiled) {
      if (candidate.pathPrefix.length > 0 && !path.startsWith(candidate.pathPrefix)) continue;
      if (headersMatch(candidate.headers, headers)) return candidate.route;
    }
    return undefined;
  }

  get size(): number {
    return this.compiled.length;
  }
}

function headersMatch(wanted: readonly (readonly [string, string])[], headers: HeaderBag): boolean {
  for (const [name, value] of wanted) {
    const actual = headers[name];
    if (actual === undefined) return false;
    if (typeof actual === 'string') {
      if (actual !== value) return false;
    } else if (!actual.includes(value)) return false;
  }
  return true;
}
